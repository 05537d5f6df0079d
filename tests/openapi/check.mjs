// SPDX-License-Identifier: Apache-2.0
// check.mjs OPENAPI.json [REPLIES.jsonl]: validates the manager's OpenAPI
// document with a maintained validator (@apidevtools/swagger-parser: the
// OpenAPI 3.1 schema and its rules, every $ref resolved), then checks each
// real reply of REPLIES.jsonl ({"method", "path", "status", "body"}, one a
// line, as tests/system/test-openapi.sh records them) against it: its path
// and method are documented, its status is one the operation lists, and its
// JSON body matches the response's schema (Ajv, JSON Schema 2020-12, the
// dialect of OpenAPI 3.1).  Every operation of the document must have been
// exercised.  Prints one line a problem; exit 1 if there is any.
import fs from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv2020 from "ajv/dist/2020.js";

const [docPath, repliesPath] = process.argv.slice(2);
if (!docPath) {
  console.error("usage: node check.mjs OPENAPI.json [REPLIES.jsonl]");
  process.exit(2);
}
const problems = [];
const raw = JSON.parse(fs.readFileSync(docPath, "utf8"));
try {
  await SwaggerParser.validate(structuredClone(raw));
  console.log(`ok - ${docPath} is a valid OpenAPI ${raw.openapi} document`);
} catch (e) {
  console.log(`not ok - ${docPath}: ${e.message.split("\n")[0]}`);
  process.exit(1);
}
if (!repliesPath) process.exit(0);

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(raw, "openapi.json");
const methods = ["get", "put", "post", "delete"];
// Templates, most literal first, as regular expressions.
const ops = [];
for (const [tpl, item] of Object.entries(raw.paths)) {
  const re = new RegExp("^" + tpl.replace(/\{[^}]+\}/g, "[^/]+").replace(/\./g, "\\.") + "$");
  const literal = tpl.split("/").filter((s) => s && !s.startsWith("{")).length;
  for (const m of methods)
    if (item[m]) ops.push({ tpl, method: m, op: item[m], re, literal, seen: 0 });
}
ops.sort((a, b) => b.literal - a.literal);

const lines = fs.readFileSync(repliesPath, "utf8").split("\n").filter(Boolean);
const validators = new Map();
for (const line of lines) {
  const r = JSON.parse(line);
  const m = r.method.toLowerCase();
  const what = `${r.method} ${r.path} -> ${r.status}`;
  const o = ops.find((x) => x.method === m && x.re.test(r.path));
  if (!o) {
    problems.push(`${what}: no such operation in the document`);
    continue;
  }
  o.seen++;
  const resp = o.op.responses[String(r.status)] ?? o.op.responses.default;
  if (!resp) {
    problems.push(`${what}: status not documented for ${o.tpl}`);
    continue;
  }
  const ref = resp.$ref ? resp.$ref.replace("#/components/responses/", "") : null;
  const content = (ref ? raw.components.responses[ref] : resp).content;
  const schema = content?.["application/json"]?.schema;
  if (!schema) continue; // text (the Prometheus page), or not JSON (413)
  const key = `${o.tpl} ${m} ${r.status}`;
  if (!validators.has(key)) {
    const s = schema.$ref ? { $ref: "openapi.json" + schema.$ref } : schema;
    validators.set(key, ajv.compile(JSON.parse(JSON.stringify(s).replaceAll('"#/', '"openapi.json#/'))));
  }
  const v = validators.get(key);
  if (!v(r.body))
    problems.push(`${what}: ${ajv.errorsText(v.errors, { dataVar: "body" })}`);
}
for (const o of ops)
  if (!o.seen) problems.push(`${o.method.toUpperCase()} ${o.tpl}: never exercised`);
for (const p of problems) console.log(`not ok - ${p}`);
console.log(`${lines.length} replies, ${ops.length} operations, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
