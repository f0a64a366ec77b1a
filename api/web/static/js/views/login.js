/** The login form: POST /api/auth/login sets the session cookie, then back to where the user was. */

import { api, el, loggedIn, registerView, t } from "../app.js";

registerView("login", {
  titleKey: "core.login.title",
  render(container) {
    const username = el("input", { id: "login-username", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
    const password = el("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
    const message = el("p", { class: "error", role: "alert", id: "login-error" });
    const submit = el("button", { type: "submit", class: "btn btn-primary", text: t("core.login.submit") });
    const form = el(
      "form",
      { class: "login-form", "aria-labelledby": "login-title", on: { submit: onSubmit } },
      el("h1", { id: "login-title", text: t("core.login.title") }),
      el("p", { class: "muted", text: t("core.login.intro") }),
      el("label", { for: "login-username", text: t("core.login.username") }),
      username,
      el("label", { for: "login-password", text: t("core.login.password") }),
      password,
      submit,
      message,
    );
    async function onSubmit(event) {
      event.preventDefault();
      message.textContent = "";
      submit.disabled = true;
      submit.textContent = t("core.login.busy");
      try {
        await api("/api/auth/login", { body: { username: username.value.trim(), password: password.value } });
        await loggedIn();
      } catch (err) {
        message.textContent = t("core.login.failed", { message: err.message });
        password.select();
      } finally {
        submit.disabled = false;
        submit.textContent = t("core.login.submit");
      }
    }
    container.append(el("section", { class: "login-page" }, form));
    username.focus();
  },
});
