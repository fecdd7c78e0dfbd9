/**
 * The layers as the README draws them, checked on the source: no import
 * cycles, the storage imports nothing above it, the core imports no door.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";

const LIB = new URL("../../lib", import.meta.url).pathname;

/** Every module under lib/ and the lib/ modules it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const pending = [LIB];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const e of Deno.readDirSync(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) pending.push(path);
      else if (e.name.endsWith(".ts")) {
        const source = Deno.readTextFileSync(path);
        const deps = [...source.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)]
          .map((m) => relative(LIB, join(dirname(path), m[1])));
        graph.set(relative(LIB, path), deps);
      }
    }
  }
  return graph;
}

Deno.test("layers: no import cycles in lib/", () => {
  const graph = importGraph();
  const done = new Set<string>();
  const cycles: string[] = [];
  const visit = (node: string, path: string[]) => {
    if (path.includes(node)) {
      return void cycles.push([...path.slice(path.indexOf(node)), node].join(" -> "));
    }
    if (done.has(node)) return;
    for (const dep of graph.get(node) ?? []) visit(dep, [...path, node]);
    done.add(node);
  };
  for (const node of graph.keys()) visit(node, []);
  assert.deepEqual(cycles, []);
});

Deno.test("layers: storage imports nothing above it; the core imports no door", () => {
  const wrong: string[] = [];
  for (const [module, deps] of importGraph()) {
    for (const dep of deps) {
      const storageUp = module.startsWith("storage/") && !dep.startsWith("storage/");
      const coreUp = module.startsWith("core/") && !/^(core|storage)\//.test(dep);
      if (storageUp || coreUp) wrong.push(`${module} imports ${dep}`);
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("layers: no file call outside lib/storage/", () => {
  const call =
    /Deno\.(open|stat|lstat|readDir|remove|rename|mkdir|realPath|readFile|writeFile|readTextFile|writeTextFile|copyFile|truncate|utime|chmod)/;
  const found: string[] = [];
  for (const module of importGraph().keys()) {
    if (module.startsWith("storage/")) continue;
    const lines = Deno.readTextFileSync(join(LIB, module)).split("\n");
    lines.forEach((line, i) => call.test(line) && found.push(`lib/${module}:${i + 1}`));
  }
  const main = Deno.readTextFileSync(new URL("../../main.ts", import.meta.url));
  if (call.test(main)) found.push("main.ts");
  assert.deepEqual(found, []);
});
