/* SAMPLE DATA for the Horizon demo: how the page's listings are built in the browser. Each
   .dsm-listing names a search API address; its JSON results fill the page's item template. */
(function () {
  "use strict";
  var template = document.getElementById("ecl-content-item").innerHTML;
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fill(item) {
    return template.replace(/\{\{(\w+)\}\}/g, function (_, key) {
      return escapeHtml(item[key] === undefined ? "" : item[key]);
    });
  }
  document.querySelectorAll(".dsm-listing[data-listing-source]").forEach(function (listing) {
    fetch(listing.getAttribute("data-listing-source"), { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("listing answered " + response.status); }
        return response.json();
      })
      .then(function (page) {
        listing.innerHTML = page.results.map(fill).join("");
        listing.setAttribute("aria-busy", "false");
      })
      .catch(function () {
        listing.innerHTML = '<p class="ecl-u-type-paragraph">The list could not be loaded.</p>';
        listing.setAttribute("aria-busy", "false");
      });
  });
})();
