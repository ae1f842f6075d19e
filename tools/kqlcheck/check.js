#!/usr/bin/env node
// Checks jobbot's canned KQL files with Microsoft's Kusto.Language (the parser and semantic analyser
// behind the Azure Monitor and Data Explorer editors) against kql/schema.json.
//
//   node check.js [--schema PATH] FILE.kql...
//       For each file: prepend `let <param> = <dummy literal of its declared type>;` for every entry
//       of its `// params:` header, ParseAndAnalyze the text, and report errors (Severity "Error"
//       only; warnings are ignored), a missing tabular result, and result columns that differ from
//       the `// returns:` header (names, and types where the header gives them).
//       Prints JSON: [{"file", "errors": [{"line", "column", "code", "message"}], "columns": [[name, type]]}]
//       and exits 1 if any file has an error (2 on a usage or I/O problem).
//
//   node check.js --literals
//       Reads one JSON string per line on stdin, each a KQL scalar expression, and answers each with
//       one JSON line {"errors": [...], "strings": [...]}: the errors of `print v = <expr>` and the
//       decoded value of every string literal in it, so tests can check that a literal built by
//       bot.kql.quote means the same to Kusto as to the local engine. Answers are flushed line by
//       line, so one process can serve a whole property-based test run.
'use strict';

const fs = require('fs');
const path = require('path');

function loadKusto() {
  const pkg = path.dirname(require.resolve('@kusto/language-service-next/package.json', { paths: [__dirname] }));
  // `require('@kusto/language-service-next')` alone throws "Bridge is not defined": the bridge runtime
  // has to be loaded first, and the library then defines the global `Kusto.Language`.
  require(path.join(pkg, 'bridge.js'));
  require(path.join(pkg, 'Kusto.Language.Bridge.js'));
  return global.Kusto.Language;
}

const K = loadKusto();
const S = K.Symbols;

const SCALAR_TYPES = {
  string: S.ScalarTypes.String,
  datetime: S.ScalarTypes.DateTime,
  long: S.ScalarTypes.Long,
  int: S.ScalarTypes.Int,
  real: S.ScalarTypes.Real,
  bool: S.ScalarTypes.Bool,
  dynamic: S.ScalarTypes.Dynamic,
  timespan: S.ScalarTypes.TimeSpan,
  guid: S.ScalarTypes.Guid,
};

// A value of each type, used only to give the analyser a typed `let` for every declared parameter.
const DUMMY_LITERALS = {
  string: '"x"',
  datetime: 'datetime(2026-01-01T00:00:00.000000Z)',
  long: 'long(0)',
  int: 'int(0)',
  real: 'real(0)',
  bool: 'false',
  dynamic: 'dynamic([])',
  timespan: 'timespan(00:00:00)',
  guid: 'guid(00000000-0000-0000-0000-000000000000)',
};

function listItems(list) {
  const out = [];
  if (!list) return out;
  const n = System.Array.getCount(list);
  for (let i = 0; i < n; i++) out.push(System.Array.getItem(list, i));
  return out;
}

function buildGlobals(schemaPath) {
  const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
  if (!schema || typeof schema.tables !== 'object') throw new Error(`${schemaPath}: expected {"tables": {...}}`);
  const tables = [];
  for (const [table, columns] of Object.entries(schema.tables)) {
    const symbols = [];
    for (const [column, type] of Object.entries(columns)) {
      const scalar = SCALAR_TYPES[type];
      if (!scalar) throw new Error(`${schemaPath}: ${table}.${column} has unknown type ${JSON.stringify(type)}`);
      symbols.push(new S.ColumnSymbol(column, scalar));
    }
    tables.push(new S.TableSymbol.$ctor4(table, symbols));
  }
  const db = new S.DatabaseSymbol.ctor('workspace', tables);
  return K.GlobalState.Default.WithDatabase(db);
}

// `// params: a:string, b:datetime` and `// returns: X:string, Y:long` (types optional in returns).
function parseHeader(text, key) {
  const re = new RegExp(`^//\\s*${key}:(.*)$`, 'm');
  const m = re.exec(text);
  if (!m) return null;
  const body = m[1].trim();
  if (body === '' || body === '-' || body === '(none)') return [];
  return body.split(',').map((part) => {
    const [name, type] = part.split(':').map((s) => (s === undefined ? undefined : s.trim()));
    return { name, type: type || null };
  });
}

function checkFile(file, globals) {
  const result = { file, errors: [], columns: [] };
  const fail = (message, line = 1, column = 1, code = 'KQLCHECK') => result.errors.push({ line, column, code, message });
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    fail(`cannot read: ${e.message}`);
    return result;
  }
  const params = parseHeader(text, 'params');
  const returns = parseHeader(text, 'returns');
  if (params === null) fail('missing "// params:" header line');
  if (returns === null) fail('missing "// returns:" header line');

  let prologue = '';
  let shift = 0; // prologue lines: diagnostics are reported against the file's own lines
  for (const p of params || []) {
    if (!p.name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name)) {
      fail(`bad parameter name in "// params:": ${JSON.stringify(p.name)}`);
      continue;
    }
    const literal = DUMMY_LITERALS[p.type];
    if (!literal) {
      fail(`parameter ${p.name} has unknown type ${JSON.stringify(p.type)}`);
      continue;
    }
    prologue += `let ${p.name} = ${literal};\n`;
    shift += 1;
  }

  const code = K.KustoCode.ParseAndAnalyze(prologue + text, globals);
  for (const d of listItems(code.GetDiagnostics())) {
    if (d.Severity !== 'Error') continue;
    const line = { v: 0 };
    const column = { v: 0 };
    if (!code.TryGetLineAndOffset(d.Start, line, column)) {
      line.v = 0;
      column.v = 0;
    }
    result.errors.push({ line: line.v - shift, column: column.v, code: d.Code, message: d.Message });
  }

  const rt = code.ResultType;
  if (!rt || !rt.Columns || !(rt instanceof S.TableSymbol)) {
    fail('the query has no tabular result');
    return result;
  }
  result.columns = listItems(rt.Columns).map((c) => [c.Name, c.Type.Name]);
  if (returns) {
    const got = result.columns.map(([n]) => n);
    const want = returns.map((r) => r.name);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      fail(`result columns ${JSON.stringify(got)} do not match "// returns:" ${JSON.stringify(want)}`);
    } else {
      returns.forEach((r, i) => {
        if (r.type && r.type !== result.columns[i][1]) {
          fail(`column ${r.name} is ${result.columns[i][1]}, "// returns:" says ${r.type}`);
        }
      });
    }
  }
  return result;
}

function decodeLiteral(expr) {
  const code = K.KustoCode.ParseAndAnalyze(`print v = ${expr}`, K.GlobalState.Default);
  const errors = listItems(code.GetDiagnostics())
    .filter((d) => d.Severity === 'Error')
    .map((d) => `${d.Code}: ${d.Message}`);
  const strings = [];
  const walk = (node) => {
    if (!node) return;
    if (node.Kind === K.Syntax.SyntaxKind.StringLiteralExpression) strings.push(node.LiteralValue);
    for (let i = 0; i < node.ChildCount; i++) walk(node.GetChild(i));
  };
  walk(code.Syntax);
  return { errors, strings };
}

// JSON with every non-ASCII character escaped, so a line separator inside a value cannot split a line.
function asciiJson(value) {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function serveLiterals() {
  const rl = require('readline').createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    let answer;
    try {
      answer = decodeLiteral(JSON.parse(line));
    } catch (e) {
      answer = { errors: [`kqlcheck: ${e && e.message ? e.message : e}`], strings: [] };
    }
    process.stdout.write(asciiJson(answer) + '\n');
  });
}

function main(argv) {
  if (argv[0] === '--literals') {
    serveLiterals();
    return 0;
  }
  let schemaPath = path.resolve(__dirname, '..', '..', 'kql', 'schema.json');
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--schema') schemaPath = argv[++i];
    else files.push(argv[i]);
  }
  if (files.length === 0) {
    process.stderr.write('usage: node check.js [--schema kql/schema.json] FILE.kql...  |  node check.js --literals (JSON lines on stdin)\n');
    return 2;
  }
  const globals = buildGlobals(schemaPath);
  const results = files.map((f) => checkFile(f, globals));
  process.stdout.write(JSON.stringify(results, null, 1) + '\n');
  return results.some((r) => r.errors.length > 0) ? 1 : 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`kqlcheck: ${e && e.stack ? e.stack : e}\n`);
  process.exitCode = 2;
}
