// The Pagefind module of the search page (search.js points PagefindUI's bundlePath here):
// Pagefind's own, made to search the merged shards as one index. Each shard is merged
// with a filter of its own, `shard` (its month), hidden from the reader, which this
// module uses to fix two things merging breaks:
//
// - A word missing from an index makes Pagefind match the longest indexed word that
//   begins it ("aquifer" finds "a": Pagefind issue #793). In one index that happens only
//   when no page has the word; with shards, in every shard without it. So the shards
//   searched are those that have each complete word exactly (a quoted search of it),
//   unless no shard has it (a word still being typed): then all.
// - Pagefind ranks merged results by score, and a sorted search scores a result by its
//   place in its own shard, so the shards' results would interleave. Shards follow each
//   other in time: newest first is each shard's results in its own order, the shards
//   newest first. The counts per shard come with the search; a shard's own results are
//   searched (the same loaded chunks, filtered to it) only when a result of it is shown.
import * as pagefind from "../../pagefind/pagefind.js";

export * from "../../pagefind/pagefind.js";

const SHARD = "shard";

const hidden = (filters) => {
  if (filters) delete filters[SHARD];
  return filters;
};

const shardCounts = (found) => found?.filters?.[SHARD] ?? {};

export const filters = async () => hidden(await pagefind.filters());

/** The shards to search for term: those that have each of its words exactly. */
async function shardsFor(term) {
  if (/^\s*".+"\s*$/.test(term)) return null; // an exact search matches no other word
  let shards = null;
  for (const word of term.trim().split(/\s+/)) {
    const counts = shardCounts(await pagefind.search(`"${word.replaceAll('"', "")}"`));
    const having = Object.keys(counts).filter((name) => counts[name] > 0);
    if (having.length) shards = (shards ?? having).filter((name) => having.includes(name));
  }
  return shards;
}

export async function search(term, options = {}) {
  const shards = term ? await shardsFor(term) : null;
  const within = (names) => ({ ...options, filters: { ...options.filters, [SHARD]: { any: names } } });
  const found = await pagefind.search(term, shards ? within(shards) : options);
  if (!found) return found;
  const counts = { ...shardCounts(found) };
  hidden(found.filters);
  hidden(found.totalFilters);
  const [direction] = Object.values(options.sort ?? {});
  if (!direction) return found;
  const names = Object.keys(counts).filter((name) => counts[name] > 0).sort();
  if (direction === "desc") names.reverse();
  const searches = new Map();
  const ofShard = (name) => {
    if (!searches.has(name)) searches.set(name, pagefind.search(term, within([name])));
    return searches.get(name);
  };
  found.results = names.flatMap((name) =>
    Array.from({ length: counts[name] }, (_, place) => ({
      id: `${name}/${place}`,
      score: 0,
      words: [],
      data: async () => (await ofShard(name)).results[place].data(),
    })),
  );
  return found;
}
