import { setup } from "/i18n.js";
setup({
  en: { title: "carehex home-care dispatch", console: "Operator console", phone: "Provider phone app", family: "Family page" },
});
