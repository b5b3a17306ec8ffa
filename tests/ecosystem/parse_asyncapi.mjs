// Parse an AsyncAPI document with the official parser and print what it found, as one
// JSON line: {"diagnostics": [...], "channels": {id: address}, "operations": {id:
// {action, channel, messages, reply}}, "messages": {id: {name, payload}}}.
// Each payload is the message's schema as the parser resolved it (references followed).
//
//   node parse_asyncapi.mjs asyncapi.json
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const source = await readFile(process.argv[2], "utf8");
const { document, diagnostics } = await new Parser().parse(source);

const report = {
  diagnostics: diagnostics.map((d) => ({
    severity: DiagnosticSeverity[d.severity],
    code: d.code,
    message: d.message,
    path: d.path.join("/"),
  })),
};
if (document) {
  report.version = document.version();
  report.channels = Object.fromEntries(document.channels().all().map((c) => [c.id(), c.address()]));
  report.operations = Object.fromEntries(
    document
      .operations()
      .all()
      .map((op) => [
        op.id(),
        {
          action: op.action(),
          channels: op.channels().all().map((c) => c.id()),
          messages: op.messages().all().map((m) => m.id()),
          reply: op.reply()?.messages().all().map((m) => m.id()) ?? null,
        },
      ]),
  );
  report.messages = Object.fromEntries(
    document
      .components()
      .messages()
      .all()
      .map((m) => [m.id(), { name: m.name(), payload: m.payload()?.json() ?? null, headers: m.headers()?.json() ?? null }]),
  );
  report.security = document
    .servers()
    .all()
    .map((s) => ({ id: s.id(), protocol: s.protocol(), schemes: s.security().flatMap((r) => r.all().map((x) => x.scheme().type())) }));
}
process.stdout.write(JSON.stringify(report) + "\n");
