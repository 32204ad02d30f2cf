import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { listTokens } from "../../src/store/token-store.ts";
import { findUser } from "../../src/store/user-store.ts";
import { notificationPreferences } from "../../src/web/pages/account-page.tsx";
import { openWebStack, PEOPLE, passwordOf, signIn, type WebStack } from "../helpers/web-stack.ts";

const SECRET = /<code class="secret">(ar_[A-Za-z0-9_-]+)<\/code>/;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe("the account page", () => {
  let web: WebStack;
  before(async () => {
    web = await openWebStack();
    await web.seedRun({ instrument: "MARI", run: 1, experiment: "IPTS-100", title: "member's run" });
    await web.seedRun({ instrument: "MARI", run: 2, experiment: "IPTS-200", title: "someone else's run" });
    await web.seedRun({ instrument: "WISH", run: 3, experiment: "IPTS-300" });
  });
  after(() => web.close());

  test("every signed-in person sees their own page; nobody gets the sign-in form (401); a token is refused (403)", async () => {
    for (const person of PEOPLE) {
      const response = await (await web.signIn(person)).get("/account");
      assert.equal(response.status, 200, person);
      assert.match(await response.text(), new RegExp(`<dt>User name</dt><dd>${person}</dd>`));
    }
    const anonymous = await fetch(`${web.url}/account`);
    assert.equal(anonymous.status, 401);
    assert.match(await anonymous.text(), /<label for="username">Username/);
    assert.equal((await fetch(`${web.url}/account`, bearer(web.adminToken))).status, 403);
    const form = await fetch(`${web.url}/login`);
    const cookie = (form.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
    for (const path of [
      "/account/tokens",
      "/account/tokens/1/revoke",
      "/account/preferences",
      "/account/password",
      "/account/sign-out-everywhere",
    ]) {
      const response = await fetch(`${web.url}${path}`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie },
        body: new URLSearchParams({ _csrf: csrf, name: "x" }).toString(),
      });
      assert.equal(response.status, 401, `anonymous ${path}`);
      const token = await fetch(`${web.url}${path}`, { method: "POST", ...bearer(web.adminToken) });
      assert.equal(token.status, 403, `token ${path}`);
    }
  });

  test("name, provider and roles: admin, scientist of, member of", async () => {
    const mari = await (await (await web.signIn("mari")).get("/account")).text();
    assert.match(mari, /<dd>Mari Person<\/dd>/);
    assert.match(mari, /a password kept here/);
    assert.match(mari, /Scientist of <a href="\/instruments\/MARI">MARI<\/a>/);
    const member = await (await (await web.signIn("member")).get("/account")).text();
    assert.match(member, /Member of experiment <a href="\/experiments\/IPTS-100">IPTS-100<\/a>/);
    assert.match(member, /id="password"/, "a local account may change its password");
    const admin = await (await (await web.signIn("admin")).get("/account")).text();
    assert.match(admin, /<strong>Administrator<\/strong>/);
    const outsider = await (await (await web.signIn("outsider")).get("/account")).text();
    assert.match(outsider, /None yet/);
  });

  test("a personal token is shown once, stored hashed, and reads exactly what its owner may", async () => {
    const member = await web.signIn("member");
    const made = await member.post("/account/tokens", { name: "member-laptop", expires_days: "30" });
    assert.equal(made.status, 200);
    const token = SECRET.exec(await made.text())?.[1] ?? "";
    assert.ok(token, "the secret is on the answer");
    const page = await (await member.get("/account")).text();
    assert.doesNotMatch(page, new RegExp(token), "and never again");
    assert.match(page, /member-laptop[\s\S]*?personal: acts as member/);
    const record = (await listTokens(web.database)).find((t) => t.name === "member-laptop");
    assert.equal(record?.role, "user");
    assert.equal(record?.userId, (await findUser(web.database, "member"))?.id);
    assert.ok(record?.expires_at && record.expires_at > Date.now() + 29 * 86_400_000);
    const runs = (await (await fetch(`${web.url}/api/v1/runs`, bearer(token))).json()) as Array<{
      run_number: number;
    }>;
    assert.deepEqual(
      runs.map((r) => r.run_number),
      [1],
      "only the runs of the member's experiment",
    );
    assert.equal((await fetch(`${web.url}/api/v1/runs/MARI/2`, bearer(token))).status, 403);
    assert.equal((await fetch(`${web.url}/api/v1/runs/MARI/1`, bearer(token))).status, 200);
    const taken = await member.post("/account/tokens", { name: "member-laptop" });
    assert.equal(taken.status, 422);
    assert.match(await taken.text(), /exists/);
    assert.equal((await member.post("/account/tokens", { name: "" })).status, 400);
  });

  test("revoking: your own token only; someone else's is refused and keeps working", async () => {
    const member = await web.signIn("member");
    const token =
      SECRET.exec(await (await member.post("/account/tokens", { name: "member-script" })).text())?.[1] ?? "";
    const record = (await listTokens(web.database)).find((t) => t.name === "member-script");
    assert.ok(record);
    const outsider = await web.signIn("outsider");
    const refused = await outsider.post(`/account/tokens/${record.id}/revoke`);
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /not yours/);
    assert.equal((await fetch(`${web.url}/api/v1/runs`, bearer(token))).status, 200);
    assert.doesNotMatch(
      await (await outsider.get("/account")).text(),
      /member-script/,
      "not listed to others",
    );
    const admin = await web.signIn("admin");
    assert.equal(
      (await admin.post(`/account/tokens/${record.id}/revoke`)).status,
      403,
      "not from the account page",
    );
    const revoked = await member.post(`/account/tokens/${record.id}/revoke`);
    assert.equal(revoked.status, 303);
    assert.equal((await fetch(`${web.url}/api/v1/runs`, bearer(token))).status, 401);
    assert.equal((await member.post("/account/tokens/999999/revoke")).status, 404);
  });

  test("notification preferences are stored (a later release sends them)", async () => {
    const wish = await web.signIn("wish");
    const page = await (await wish.get("/account")).text();
    assert.match(page, /nothing is sent\s+yet/);
    assert.match(page, /<input type="radio" name="email_runs" value="off" checked/);
    const saved = await wish.post("/account/preferences", { email_runs: "failures", daily_digest: "1" });
    assert.equal(saved.status, 303);
    const user = await findUser(web.database, "wish");
    assert.deepEqual(notificationPreferences(user?.preferences ?? {}), {
      email_runs: "failures",
      daily_digest: true,
    });
    const shown = await (await wish.get("/account?done=preferences-saved")).text();
    assert.match(shown, /value="failures" checked/);
    assert.match(shown, /name="daily_digest" value="1" checked/);
    assert.match(shown, /preferences are saved/);
    assert.equal((await wish.post("/account/preferences", { email_runs: "hourly" })).status, 400);
    await wish.post("/account/preferences", { email_runs: "off" });
    const off = await findUser(web.database, "wish");
    assert.deepEqual(notificationPreferences(off?.preferences ?? {}), {
      email_runs: "off",
      daily_digest: false,
    });
  });

  test("changing the password: checked, then other browsers are signed out and this one stays", async () => {
    const here = await web.signIn("outsider");
    const elsewhere = await web.signIn("outsider");
    const change = (form: Record<string, string>) => here.post("/account/password", form);
    const old = passwordOf("outsider");
    const next = "a-new-password-2";
    for (const [form, why] of [
      [{ current: "wrong-password", password: next, repeat: next }, /current password is not right/],
      [{ current: old, password: "short", repeat: "short" }, /too short: at least 10/],
      [{ current: old, password: next, repeat: `${next}x` }, /two new passwords differ/],
    ] as const) {
      const refused = await change(form);
      assert.equal(refused.status, 422);
      assert.match(await refused.text(), why);
    }
    await signIn(web.url, "outsider", old);
    const changed = await change({ current: old, password: next, repeat: next });
    assert.equal(changed.status, 303);
    assert.equal(changed.headers.get("location"), "/account?done=password-changed");
    const cookie = changed.headers
      .getSetCookie()
      .find((c) => c.startsWith("ar_session="))
      ?.split(";")[0];
    assert.ok(cookie, "this browser gets a new session");
    assert.equal((await fetch(`${web.url}/account`, { headers: { cookie } })).status, 200);
    assert.equal((await here.get("/account")).status, 401, "the old session cookie is gone");
    assert.equal((await elsewhere.get("/account")).status, 401, "the other browser is signed out");
    await assert.rejects(signIn(web.url, "outsider", old), /401/);
    await signIn(web.url, "outsider", next);
  });

  test("sign out everywhere ends every session of the person, and no one else's", async () => {
    const one = await web.signIn("mari");
    const two = await web.signIn("mari");
    const other = await web.signIn("wish");
    const out = await one.post("/account/sign-out-everywhere");
    assert.equal(out.status, 303);
    assert.match(out.headers.getSetCookie().join(";"), /ar_session=;/);
    assert.equal((await one.get("/account")).status, 401);
    assert.equal((await two.get("/account")).status, 401);
    assert.equal((await other.get("/account")).status, 200);
    const page = await (await web.signIn("mari")).get("/account");
    assert.match(await page.text(), /action="\/logout"[\s\S]*Sign out of this browser/);
  });
});
