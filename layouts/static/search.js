// The search page: Pagefind's own UI (pagefind-ui.js, from the bundle), opened with the
// results for ?q= so that a link or a browser's site search lands on them. ?lang= picks
// another language's index (Pagefind reads the page's lang), ?order=relevance ranks by
// match instead of newest first.
//
// The index is in shards (site/pagefind/shards.json lists them, newest first): the UI
// merges those with an index in the page's language into the small primary bundle at
// site/pagefind/, through search/pagefind.js, which keeps newest-first order across them.
(async () => {
  const params = new URLSearchParams(location.search);
  const form = document.querySelector(".search-options");
  const root = document.querySelector("#search");
  const lang = params.get("lang");
  if (lang && form.querySelector(`option[value="${CSS.escape(lang)}"]`)) {
    document.documentElement.lang = lang;
    form.elements.lang.value = lang;
  }
  const byRelevance = params.get("order") === "relevance";
  form.elements.order.value = byRelevance ? "relevance" : "newest";
  // a shard without the page's language would answer in another (Pagefind's fallback)
  const language = document.documentElement.lang.toLowerCase();
  const speaks = (shard) =>
    shard.languages.some((code) => code === language || code === language.split("-")[0]);
  const response = await fetch(`${root.dataset.bundle}shards.json`);
  const { shards } = await response.json();
  const ui = new PagefindUI({
    element: "#search",
    bundlePath: root.dataset.module,
    mergeIndex: shards.filter(speaks).map((shard) => ({
      bundlePath: `${root.dataset.bundle}${shard.name}/`,
      mergeFilter: { shard: shard.name },
    })),
    showSubResults: true,
    showImages: false,
    resetStyles: false,
    sort: byRelevance ? undefined : { date: "desc" },
    autofocus: !params.get("q"),
  });
  // Pagefind's box has a title only: the page's heading names it for everyone
  document.querySelector("#search .pagefind-ui__search-input")
    ?.setAttribute("aria-labelledby", "search-heading");
  form.hidden = false;
  form.addEventListener("submit", () => {
    form.elements.q.value = document.querySelector("#search .pagefind-ui__search-input")?.value ?? "";
  });
  const query = params.get("q");
  if (query) ui.triggerSearch(query);
})();
