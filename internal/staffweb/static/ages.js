// Keeps "12 min ago" ages current without reloading; the pages work the
// same without it (the server writes the age when it renders).
(function () {
  function age(ms) {
    var m = Math.floor(ms / 60000);
    if (m < 1) return "just now";
    if (m < 60) return m + " min ago";
    var h = Math.floor(m / 60);
    if (h < 48) return (h < 10 && m % 60 > 0) ? h + " h " + (m % 60) + " min ago" : h + " h ago";
    return Math.floor(h / 24) + " days ago";
  }
  function update() {
    var els = document.querySelectorAll("time[data-age]");
    for (var i = 0; i < els.length; i++) {
      var t = Date.parse(els[i].getAttribute("datetime"));
      if (!isNaN(t)) els[i].textContent = age(Date.now() - t);
    }
  }
  setInterval(update, 30000);
})();
