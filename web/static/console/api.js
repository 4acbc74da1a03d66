// The console's connection to the server: one session token and the
// generated Twirp clients that use it. Nothing else in the console fetches.
import {
  AuthService, CatalogService, DispatchService, FinanceService, IntakeService, MapService, OrganisationService,
  OrgDispatchService, PlanService, ProviderService, QualityService, ResidentService, RosterViewService, TwirpError,
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
export const finance = new FinanceService(opts); // settlement's finance view (finance.js)
export const organisations = new OrganisationService(opts);
export const plans = new PlanService(opts);
export const rosterView = new RosterViewService(opts);
export const orgDispatch = new OrgDispatchService(opts); // two-tier dispatch (routing.js)
export const quality = new QualityService(opts); // callbacks and complaints (quality.js)

// isAuthError tells whether the session is gone and the operator must sign in again.
export function isAuthError(e) {
  return e instanceof TwirpError && (e.code === "unauthenticated" || e.code === "permission_denied");
}

// canWrite tells whether the signed-in role may change anything: operators
// and admins do; supervisors oversee and see no write controls (the server
// refuses them as well, rpc/access.go).
export const canWrite = () => ["operator", "admin"].includes(session.get()?.role);

// Organisation accounts (issue 12): an org_dispatcher or org_admin sees its
// organisation's view of the console (orgview.js): its queue, its carers,
// its alerts and statements, and no platform tab. The dispatcher assigns
// and acknowledges; the organisation's administrator keeps its carers.
const role = () => session.get()?.role;
export const isOrgRole = () => ["org_dispatcher", "org_admin"].includes(role());
export const canDispatch = () => ["operator", "admin", "org_dispatcher"].includes(role());
export const canManageCarers = () => ["operator", "admin", "org_admin"].includes(role());
// mayReadResident says whether the caller may read the elder of request r:
// platform staff always; an organisation only while its carer holds the
// job (the server refuses it otherwise, rpc/org.go, and shows another
// organisation's carer as nobody).
const HELD = ["REQUEST_STATUS_ASSIGNED", "REQUEST_STATUS_EN_ROUTE", "REQUEST_STATUS_IN_PROGRESS"];
export const mayReadResident = (r) => !isOrgRole() || (HELD.includes(r.status) && Boolean(r.provider_id));
