/* The admin's periodic task form (django-celery-beat): a chosen crontab's schedule in words under the field,
   as the package's own inline script does (the Content-Security-Policy runs no inline script). */
(function () {
  "use strict";
  var $ = window.django && window.django.jQuery;
  var source = document.getElementById("readable-crontabs");
  if (!$ || !source) { return; }
  var readable = JSON.parse(source.textContent);
  var help = document.currentScript ? document.currentScript.dataset.crontabHelp || "" : "";
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    var node = $(".field-crontab .help");
    node.text(help);
    node.append("<br>", document.createTextNode("Translation: " + (readable[$("#id_crontab").val()] || "")));
  });
})();
