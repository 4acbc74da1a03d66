// The console's connection to the server: one session token and the
// generated Twirp clients that use it. Nothing else in the console fetches.
import {
  AuthService, CatalogService, DispatchService, IntakeService, MapService, ProviderService, QualityService, ResidentService, TwirpError,
} from "/gen/carehex.js";

const KEY = "carehex.console.session";

export const session = {
  get() {
    try { return JSON.parse(sessionStorage.getItem(KEY)) || null; } catch { return null; }
  },
  set(s) { sessionStorage.setItem(KEY, JSON.stringify(s)); },
  clear() { sessionStorage.removeItem(KEY); },
};

const opts = { token: () => session.get()?.token };

export const auth = new AuthService(opts);
export const catalog = new CatalogService(opts);
export const dispatch = new DispatchService(opts);
export const intake = new IntakeService(opts);
export const providers = new ProviderService(opts);
export const residents = new ResidentService(opts);
export const maps = new MapService(opts);
export const quality = new QualityService(opts); // callbacks and complaints (quality.js)

// isAuthError tells whether the session is gone and the operator must sign in again.
export function isAuthError(e) {
  return e instanceof TwirpError && (e.code === "unauthenticated" || e.code === "permission_denied");
}

// canWrite tells whether the signed-in role may change anything: operators
// and admins do; supervisors oversee and see no write controls (the server
// refuses them as well, rpc/access.go).
export const canWrite = () => ["operator", "admin"].includes(session.get()?.role);
