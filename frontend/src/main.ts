import { createApp } from "vue";

import App from "./App.vue";
import { api } from "./api";
import { lang } from "./i18n";
import { router } from "./router";
import { endSession } from "./session";
import "./style.css";

// A session that ended elsewhere (logged out everywhere, disabled, expired)
// leads back to the login page, which then returns to where the user was.
api.onUnauthorized = () => {
  endSession();
  const current = router.currentRoute.value;
  if (!current.meta.public) {
    void router.push({ name: "login", query: { next: current.fullPath } });
  }
};

document.documentElement.lang = lang.value;
createApp(App).use(router).mount("#app");
