// Seeds a running carehex for the browser scenario through the generated
// Twirp client (the same one the console uses) and prints what the test
// needs as JSON: a resident with a phone number, a provider with the skill
// her emergency needs right next to her, the provider's device token, a
// second provider farther off, and a family member's token.
//
//   CAREHEX_URL=http://127.0.0.1:PORT E2E_USER=u E2E_PASSWORD=p node seed.js > seed.json
import { AuthService, ProviderService, ResidentService } from "../static/gen/carehex.js";

const base = process.env.CAREHEX_URL;
const user = process.env.E2E_USER;
const password = process.env.E2E_PASSWORD;
if (!base || !user || !password) throw new Error("seed: set CAREHEX_URL, E2E_USER and E2E_PASSWORD");

let token = "";
const opts = { baseURL: base, token: () => token };
({ token } = await new AuthService(opts).login({ username: user, password }));

const home = { lat: 36.8012, lng: 118.0523 }; // Zhangdian district, Zibo
const last4 = String(1000 + Math.floor(Math.random() * 9000));
const residents = new ResidentService(opts);
const { resident } = await residents.createResident({
  name: "王桂兰", phone: "1390533" + last4, address: "张店区华光路56号3单元201", district: "张店区",
  location: home, gender: "GENDER_FEMALE", birth_year: 1941,
  preferences: { language: "普通话", notes: "行动不便，敲门后请稍等" },
});

const providers = new ProviderService(opts);
const { provider } = await providers.createProvider({
  name: "刘芳", phone: "1360000" + last4, skills: ["emergency_response", "meal_service"],
  location: { lat: home.lat + 0.002, lng: home.lng + 0.002 }, gender: "GENDER_FEMALE",
});
const { token: deviceToken } = await providers.issueDeviceToken({ provider_id: provider.id });
// A second provider, a little farther away, for manual assignment: while the
// dispatcher's offer waits on the first, the second is still a candidate.
const far = { lat: home.lat + 0.003, lng: home.lng + 0.003 };
const { provider: second } = await providers.createProvider({
  name: "张伟", phone: "1360001" + last4, skills: ["meal_service"], location: far, gender: "GENDER_MALE",
});
const { token: secondToken } = await providers.issueDeviceToken({ provider_id: second.id });
const { access_token: familyToken } = await residents.linkFamilyMember({
  resident_id: resident.id, name: "李明", phone: "1380533" + last4, relation: "儿子",
});

// An elder out in Zichuan, some 17 km away, whom no carer near her can
// answer: her emergency goes unaccepted and escalates (console.test.js). One
// carer with the skill lives near her, but his phone is off: only a phone
// call reaches him.
const farHome = { lat: home.lat + 0.15, lng: home.lng + 0.01 };
const { resident: farResident } = await residents.createResident({
  name: "赵秀珍", phone: "1390534" + last4, address: "淄川区松龄路88号2单元102", district: "淄川区",
  location: farHome, gender: "GENDER_FEMALE", birth_year: 1938,
  emergency_contacts: [{ name: "李勇", relation: "儿子", phone: "1380534" + last4 }],
});
const { provider: farProvider } = await providers.createProvider({
  name: "孙建国", phone: "1360002" + last4, skills: ["emergency_response"],
  location: { lat: farHome.lat + 0.004, lng: farHome.lng }, gender: "GENDER_MALE",
});

console.log(JSON.stringify({
  base_url: base, username: user, password,
  resident: { id: resident.id, name: resident.name, phone: resident.phone, last4, location: home },
  provider: { id: provider.id, name: provider.name },
  second_provider: { id: second.id, name: second.name, location: far, device_token: secondToken },
  device_token: deviceToken, family_token: familyToken,
  service: { query: "跌倒", code: "EM-FALL-RESPONSE" },
  far_resident: { id: farResident.id, name: farResident.name, phone: farResident.phone, last4, address: farResident.address,
    contact: { name: "李勇", relation: "儿子" } },
  far_provider: { id: farProvider.id, name: farProvider.name },
}, null, 2));
