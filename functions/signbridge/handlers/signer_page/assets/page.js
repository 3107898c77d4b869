// The One-Shot signing page (docs/signer-page.md). No dependencies, no inline script: the CSP allows 'self' only.
// The link's token is the last path segment of /sign/{token}; every call goes to the same path + an endpoint.
"use strict";
(function () {
  var T = {
    en: {
      skip: "Skip to content", language: "Language", title: "Sign your documents", documents: "Documents to sign",
      asker: "{brand} asks you, {name}, to sign these documents.", open: "Open", download: "Download",
      contract: "Service contract", contractIntro: "Before signing, read the qualified signature service contract.",
      contractLink: "Open the service contract (PDF)", acceptLabel: "I have read and accept the service contract",
      accept: "Accept and continue", mustAccept: "Tick the box to accept the service contract.",
      code: "SMS code", codeIntro: "We sent a code by SMS to your phone. Type it to sign.", codeLabel: "Code from the SMS",
      sign: "Sign", resend: "Send another code", resendIn: "You can ask for another code in {s} s.",
      resent: "A new code is on its way.", tries: "Tries left: {n} of {max}.",
      badCode: "That code is not right. Tries left: {n}.", codeFormat: "Type the 4 to 8 digits of the code.",
      locked: "Too many wrong codes: signing is locked. Contact the company that sent you this link.",
      waiting: "Your documents are being prepared. This page updates by itself.",
      notYourTurn: "Another person signs first. This page updates by itself.",
      signing: "Signing…", signedTitle: "Signed", signedText: "You have signed. Your signed documents:",
      signedWait: "You have signed. Your signed documents will appear here in a moment.",
      expiredTitle: "This link has expired", expiredText: "Ask the company that sent it for a new one.",
      usedTitle: "This link can no longer be used", usedText: "The documents have been signed, or the request has ended.",
      invalidTitle: "This link is not valid", invalidText: "Check that you opened the whole link you received.",
      busy: "The signing service is busy. Try again in a moment.", error: "Something went wrong. Try again.",
      footer: "Qualified electronic signature. This link is personal: do not share it.", accepted: "Contract accepted."
    },
    es: {
      skip: "Ir al contenido", language: "Idioma", title: "Firme sus documentos", documents: "Documentos para firmar",
      asker: "{brand} le pide, {name}, que firme estos documentos.", open: "Abrir", download: "Descargar",
      contract: "Contrato de servicio", contractIntro: "Antes de firmar, lea el contrato del servicio de firma cualificada.",
      contractLink: "Abrir el contrato de servicio (PDF)", acceptLabel: "He leído y acepto el contrato de servicio",
      accept: "Aceptar y continuar", mustAccept: "Marque la casilla para aceptar el contrato de servicio.",
      code: "Código SMS", codeIntro: "Le hemos enviado un código por SMS. Escríbalo para firmar.", codeLabel: "Código del SMS",
      sign: "Firmar", resend: "Enviar otro código", resendIn: "Podrá pedir otro código en {s} s.",
      resent: "Le enviamos un código nuevo.", tries: "Intentos restantes: {n} de {max}.",
      badCode: "El código no es correcto. Intentos restantes: {n}.", codeFormat: "Escriba los 4 a 8 dígitos del código.",
      locked: "Demasiados códigos erróneos: la firma está bloqueada. Contacte con la empresa que le envió este enlace.",
      waiting: "Estamos preparando sus documentos. Esta página se actualiza sola.",
      notYourTurn: "Otra persona firma antes. Esta página se actualiza sola.",
      signing: "Firmando…", signedTitle: "Firmado", signedText: "Ha firmado. Sus documentos firmados:",
      signedWait: "Ha firmado. Sus documentos firmados aparecerán aquí en un momento.",
      expiredTitle: "Este enlace ha caducado", expiredText: "Pida uno nuevo a la empresa que se lo envió.",
      usedTitle: "Este enlace ya no se puede usar", usedText: "Los documentos se firmaron o la solicitud ha terminado.",
      invalidTitle: "Este enlace no es válido", invalidText: "Compruebe que abrió el enlace completo que recibió.",
      busy: "El servicio de firma está ocupado. Inténtelo de nuevo en un momento.", error: "Algo salió mal. Inténtelo de nuevo.",
      footer: "Firma electrónica cualificada. Este enlace es personal: no lo comparta.", accepted: "Contrato aceptado."
    },
    pt: {
      skip: "Ir para o conteúdo", language: "Idioma", title: "Assine os seus documentos", documents: "Documentos para assinar",
      asker: "{brand} pede a você, {name}, que assine estes documentos.", open: "Abrir", download: "Baixar",
      contract: "Contrato de serviço", contractIntro: "Antes de assinar, leia o contrato do serviço de assinatura qualificada.",
      contractLink: "Abrir o contrato de serviço (PDF)", acceptLabel: "Li e aceito o contrato de serviço",
      accept: "Aceitar e continuar", mustAccept: "Marque a caixa para aceitar o contrato de serviço.",
      code: "Código SMS", codeIntro: "Enviamos um código por SMS. Digite-o para assinar.", codeLabel: "Código do SMS",
      sign: "Assinar", resend: "Enviar outro código", resendIn: "Você poderá pedir outro código em {s} s.",
      resent: "Um novo código está a caminho.", tries: "Tentativas restantes: {n} de {max}.",
      badCode: "O código não está correto. Tentativas restantes: {n}.", codeFormat: "Digite os 4 a 8 dígitos do código.",
      locked: "Códigos errados demais: a assinatura está bloqueada. Contate a empresa que enviou este link.",
      waiting: "Estamos preparando os seus documentos. Esta página se atualiza sozinha.",
      notYourTurn: "Outra pessoa assina antes. Esta página se atualiza sozinha.",
      signing: "Assinando…", signedTitle: "Assinado", signedText: "Você assinou. Os seus documentos assinados:",
      signedWait: "Você assinou. Os seus documentos assinados aparecerão aqui em instantes.",
      expiredTitle: "Este link expirou", expiredText: "Peça um novo à empresa que o enviou.",
      usedTitle: "Este link não pode mais ser usado", usedText: "Os documentos foram assinados ou a solicitação terminou.",
      invalidTitle: "Este link não é válido", invalidText: "Verifique se abriu o link completo que recebeu.",
      busy: "O serviço de assinatura está ocupado. Tente novamente em instantes.", error: "Algo deu errado. Tente novamente.",
      footer: "Assinatura eletrônica qualificada. Este link é pessoal: não o compartilhe.", accepted: "Contrato aceito."
    }
  };
  var base = location.pathname.replace(/\/+$/, "");
  var lang = null, browserLang = "en", state = null, countdownTimer = null, pollTimer = null, closedKind = null;

  function $(id) { return document.getElementById(id); }
  function t(key, values) {
    var text = (T[lang || browserLang] || T.en)[key] || T.en[key] || key;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(values[k])); });
    return text;
  }
  function show(id, visible) { $(id).hidden = !visible; }
  function setAlert(text) { var a = $("alert"); a.textContent = text || ""; a.hidden = !text; }
  function setStatus(text) { $("status").textContent = text || ""; }

  function translateStatic() {
    var shown = lang || browserLang;
    document.documentElement.lang = shown;
    document.querySelectorAll("[data-t]").forEach(function (el) { el.textContent = t(el.getAttribute("data-t")); });
    $("language").value = shown;
    document.title = t("title");
  }

  function call(method, endpoint, body) {
    var options = { method: method, headers: { Accept: "application/json" }, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(base + endpoint, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function slug(problem) { return String((problem && problem.type) || "").split("/").pop(); }

  function closed(kind) {
    closedKind = kind;
    stopTimers();
    translateStatic();
    ["documents-section", "contract-section", "code-section", "done-section"].forEach(function (id) { show(id, false); });
    $("closed-title").textContent = t(kind + "Title");
    $("closed-text").textContent = t(kind + "Text");
    show("closed", true);
    setStatus("");
    $("main").focus();
  }

  function handleProblem(result) {
    var kind = slug(result.data);
    if (kind === "signing-link-expired") return closed("expired");
    if (kind === "signing-link-used") return closed("used");
    if (kind === "signing-link-invalid") return closed("invalid");
    if (kind === "otp-rejected") { return load().then(function () { setAlert(t("badCode", { n: state.signer.tries_remaining })); $("code-input").focus(); }); }
    if (kind === "signer-locked") return load();
    if (kind === "otp-too-soon") return load();
    if (kind === "validation-error") { setAlert(t("codeFormat")); return; }
    if (kind === "provider-unavailable") { setAlert(t("busy")); return; }
    setAlert(t("error"));
  }

  function fileItem(list, name, url) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = url; a.textContent = name; a.rel = "noopener noreferrer"; a.setAttribute("download", name);
    li.appendChild(a); list.appendChild(li);
  }

  function render() {
    if (!state) return;
    translateStatic();
    var brand = state.brand;
    $("brand-name").textContent = brand.name;
    document.documentElement.style.setProperty("--brand", brand.color);
    if (brand.logo) { $("brand-logo").src = brand.logo; $("brand-logo").alt = brand.name; show("brand-logo", true); }
    $("asker").textContent = t("asker", { brand: brand.name, name: state.signer.name });
    var documents = $("documents"); documents.textContent = "";
    state.documents.forEach(function (d) { if (d.url) fileItem(documents, d.name, d.url); });
    var phase = state.phase;
    show("documents-section", phase !== "signed");
    show("contract-section", phase === "contract");
    show("code-section", phase === "code");
    show("done-section", phase === "signed");
    if (state.contract_url) $("contract-link").href = state.contract_url;
    $("contract-link").rel = "noopener noreferrer";
    $("tries").textContent = t("tries", { n: state.signer.tries_remaining, max: state.signer.max_tries });
    var status = { waiting: state.request_status === "awaiting_otp" || state.request_status === "signing" ? "notYourTurn" : "waiting",
                   signing: "signing", locked: "locked" }[phase];
    setStatus(status ? t(status) : "");
    if (phase === "signed") {
      var signed = $("signed"); signed.textContent = "";
      state.documents.forEach(function (d) { if (d.signed_url) fileItem(signed, d.name, d.signed_url); });
      $("done-text").textContent = t(state.signed_ready ? "signedText" : "signedWait");
    }
    countdown(state.signer.resend_wait_seconds);
    schedulePoll(phase === "waiting" || phase === "signing" || (phase === "signed" && !state.signed_ready));
  }

  function countdown(seconds) {
    if (countdownTimer) clearInterval(countdownTimer);
    var left = seconds, button = $("resend-button");
    function tick() {
      if (left > 0) { button.disabled = true; $("countdown").textContent = t("resendIn", { s: left }); left -= 1; }
      else { button.disabled = false; $("countdown").textContent = ""; clearInterval(countdownTimer); countdownTimer = null; }
    }
    tick();
    if (left >= 0 && button.disabled) countdownTimer = setInterval(tick, 1000);
  }

  function stopTimers() {
    if (countdownTimer) clearInterval(countdownTimer);
    if (pollTimer) clearTimeout(pollTimer);
    countdownTimer = pollTimer = null;
  }

  function schedulePoll(on) {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = on ? setTimeout(function () { load(); }, 2000) : null;
  }

  function accept(result) {
    if (!result.ok) return handleProblem(result);
    setAlert(""); state = result.data; render(); $("code-input").focus();
  }

  function load() {
    return call("GET", "/state").then(function (result) {
      if (!result.ok) return handleProblem(result);
      var first = state === null;
      state = result.data;
      if (first) lang = lang || (state.languages.indexOf(state.language) >= 0 ? state.language : browserLang);
      render();
    }).catch(function () { setAlert(t("error")); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var wanted = new URLSearchParams(location.search).get("lang");
    if (wanted && T[wanted]) lang = wanted;
    // Until the state says the request's language (and for a closed link, which has none), the browser's.
    var browser = (navigator.languages || [navigator.language || "en"]).map(function (l) { return String(l).slice(0, 2).toLowerCase(); })
      .filter(function (l) { return T[l]; })[0] || "en";
    $("language").addEventListener("change", function (event) {
      lang = event.target.value;
      if (closedKind) { closed(closedKind); } else { setAlert(""); render(); }
    });
    $("accept-form").addEventListener("submit", function (event) {
      event.preventDefault();
      if (!$("accept-box").checked) { setAlert(t("mustAccept")); $("accept-box").focus(); return; }
      $("accept-button").disabled = true;
      call("POST", "/accept", { accepted: true }).then(function (result) {
        $("accept-button").disabled = false; accept(result);
      });
    });
    $("code-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var code = $("code-input").value.trim();
      if (!/^[0-9]{4,8}$/.test(code)) { setAlert(t("codeFormat")); $("code-input").focus(); return; }
      $("sign-button").disabled = true; setAlert(""); setStatus(t("signing"));
      call("POST", "/otp", { code: code }).then(function (result) {
        $("sign-button").disabled = false; $("code-input").value = "";
        if (!result.ok) return handleProblem(result);
        state = result.data; render(); $("main").focus();
      });
    });
    $("resend-button").addEventListener("click", function () {
      $("resend-button").disabled = true;
      call("POST", "/otp/resend").then(function (result) {
        if (!result.ok) return handleProblem(result);
        state = result.data; render(); countdown(Math.max(state.signer.resend_wait_seconds, 60)); setStatus(t("resent"));
      });
    });
    browserLang = browser;
    if (lang) translateStatic();
    load();
  });
})();
