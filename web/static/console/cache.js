// What the console looks up often and rarely changes: the catalogue and the
// residents named on the board.
import { catalog, residents } from "./api.js";

export const services = new Map(); // code → ServiceType

export async function loadCatalogue() {
  const { service_types } = await catalog.listServiceTypes({});
  services.clear();
  for (const st of service_types) services.set(st.code, st);
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
