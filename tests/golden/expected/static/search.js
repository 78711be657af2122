// The search page: Pagefind's own UI (pagefind-ui.js, from the bundle), opened with the
// results for ?q= so that a link or a browser's site search lands on them. ?lang= picks
// another language's index (Pagefind reads the page's lang), ?order=relevance ranks by
// match instead of newest first.
(() => {
  const params = new URLSearchParams(location.search);
  const form = document.querySelector(".search-options");
  const lang = params.get("lang");
  if (lang && form.querySelector(`option[value="${CSS.escape(lang)}"]`)) {
    document.documentElement.lang = lang;
    form.elements.lang.value = lang;
  }
  const byRelevance = params.get("order") === "relevance";
  form.elements.order.value = byRelevance ? "relevance" : "newest";
  const ui = new PagefindUI({
    element: "#search",
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
