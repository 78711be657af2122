"""Notes in the margin: remarks of an analysis anchored to the words of the article they
are about (issue 20).

- model.py: what a note is, and its form in the sidecar (a `## Notes` section the editor
  reads in a diff and edits by hand);
- match.py: quotes and the article's text normalised alike for comparing;
- place.py: where each note goes in the rendered article, its words marked. The article's
  own text decides where a note goes, never the model;
- quotes.py: the notes that place.py cannot place, as analyze and check report them;
- view.py: the notes as the page and the feeds show them.
"""
