// The print view's "Print / Save as PDF" button (no inline script: the CSP allows none).
document.getElementById("print-now")?.addEventListener("click", () => window.print());
