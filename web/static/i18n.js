// i18n: pages are in Chinese by default; a switch turns them to English.
// Chinese text is written in the HTML itself; setup() receives each page's
// English strings keyed by the data-i18n attribute, remembers the choice in
// localStorage, and t(key, zh) picks the string for text made in JavaScript.

const KEY = "carehex.lang";
let english = {};

export function lang() {
  return localStorage.getItem(KEY) === "en" ? "en" : "zh";
}

// t returns the English string for key when English is on, else zh.
export function t(key, zh) {
  return lang() === "en" && english[key] ? english[key] : zh;
}

// setup records the page's English strings, applies the stored language to
// every [data-i18n] element, and wires every [data-lang-switch] button.
export function setup(dict) {
  english = dict.en || {};
  const zh = new Map();
  const apply = () => {
    const en = lang() === "en";
    document.documentElement.lang = en ? "en" : "zh-CN";
    for (const el of document.querySelectorAll("[data-i18n]")) {
      const k = el.dataset.i18n;
      if (!zh.has(el)) zh.set(el, el.textContent);
      el.textContent = en && english[k] ? english[k] : zh.get(el);
    }
    for (const b of document.querySelectorAll("[data-lang-switch]")) b.textContent = en ? "中文" : "English";
    document.dispatchEvent(new CustomEvent("langchange"));
  };
  for (const b of document.querySelectorAll("[data-lang-switch]")) {
    b.addEventListener("click", () => {
      localStorage.setItem(KEY, lang() === "en" ? "zh" : "en");
      apply();
    });
  }
  apply();
}
