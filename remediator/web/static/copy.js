// "Copy YAML" on the rules page: the text of the element a button names goes to the clipboard.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button) { return; }
    var source = document.getElementById(button.dataset.copy);
    if (!source) { return; }
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(source.textContent).then(done, function () { select(source); });
    } else {
      select(source);
    }
  });
  function select(element) {  // no clipboard (plain http): select the text for Ctrl+C
    var range = document.createRange();
    range.selectNodeContents(element);
    var chosen = window.getSelection();
    chosen.removeAllRanges();
    chosen.addRange(range);
  }
})();
