// Print button of the print view (inline handlers are blocked by the Content-Security-Policy).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-button");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
});
