"""Notes in the margin: remarks of an analysis anchored to the words of the article they
are about (issue 20).

- model.py: what a note is, and its form in the sidecar (a `## Notes` section the editor
  reads in a diff and edits by hand);
- match.py: whether, and where, a note's quoted words occur in the article. The article's
  own text decides where a note goes, never the model;
- place.py: where each note goes in the article's rendered HTML, its words marked there;
- view.py: the notes as a page and a feed show them (numbered in reading order, their
  text rendered as untrusted model output).
"""
