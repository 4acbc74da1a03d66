// What the console looks up often and rarely changes: the catalogue and the
// residents named on the board.
import { registerNames } from "/i18n.js";
import { catalog, residents } from "./api.js";

export const services = new Map(); // code → ServiceType

export async function loadCatalogue() {
  const { service_types, skills, categories } = await catalog.listServiceTypes({});
  services.clear();
  for (const st of service_types) services.set(st.code, st);
  // Codes in messages (alerts, errors, timeline reasons) read as words.
  registerNames("service", service_types);
  registerNames("skill", skills);
  registerNames("category", categories);
}

const people = new Map(); // resident id → Resident or a pending Promise

// resident returns the resident, fetched once.
export function resident(id) {
  if (!people.has(id)) {
    const p = residents.getResident({ id }).then((r) => r.resident, (e) => { people.delete(id); throw e; });
    people.set(id, p);
  }
  return people.get(id);
}

export function rememberResident(r) { people.set(r.id, Promise.resolve(r)); }
