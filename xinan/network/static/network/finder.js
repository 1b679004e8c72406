// Site finder: "nearest to me" asks the browser for its position and submits it with the form.
// Nothing leaves the page but the two numbers; no map tiles are fetched.
(function () {
  var button = document.getElementById("locate");
  var form = document.getElementById("finder");
  var status = document.getElementById("locate-status");
  if (!button || !form || !navigator.geolocation) {
    if (button) button.hidden = true;
    return;
  }
  button.addEventListener("click", function () {
    status.textContent = button.dataset.waiting;
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        form.elements.lat.value = pos.coords.latitude.toFixed(6);
        form.elements.lon.value = pos.coords.longitude.toFixed(6);
        form.submit();
      },
      function () { status.textContent = button.dataset.failed; },
      { timeout: 10000, maximumAge: 300000 }
    );
  });
})();
