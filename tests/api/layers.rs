//! The top-level modules of `src/` form layers, and an import only points down; features
//! import no other feature; and the files inside a module import each other without a cycle.
//!
//! The layers are the order below, bottom first (the same order as `src/lib.rs` lists
//! them). Each `crate::…` path in a module's files names the top-level module it reaches
//! into; that module must sit lower in the list. Holding a total order rather than only
//! "no cycle" keeps the picture a newcomer reads in `lib.rs` true: a new import that runs
//! up the layers fails here with the file that made it, before it can grow into a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every top-level module, lowest layer first.
const LAYERS: &[&str] = &[
    // Base.
    "i18n",
    "random",
    "config",
    "secrets",
    "telemetry",
    "error",
    "validate",
    // The database, and the roles its rows hold.
    "db",
    "access",
    // Infrastructure.
    "http",
    "credentials",
    "tenant",
    "state",
    // The domain: what several features share, below them all.
    "audit",
    "staff",
    "registry",
    "tills",
    // Features, one per URL area: side by side, none imports another but `profile`, which
    // answers as `auth`'s `me`.
    "auth",
    "two_factor",
    "profile",
    "employees",
    "users",
    "stores",
    "store_roles",
    "roles",
    "permissions",
    "devices",
    "approvals",
    "audit_events",
    "discovery",
    "oauth",
    // Composition.
    "console",
    "middleware",
    "router",
    "cli",
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The Rust files under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The top-level module a file under `src/` belongs to (`None` for `lib.rs` and `main.rs`,
/// which sit above every layer).
fn module_of(file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src_dir()).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?.to_owned();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (name != "lib" && name != "main").then_some(name)
}

/// `source` without `//` comments (doc comments name modules in links, which import nothing).
fn without_comments(source: &str) -> String {
    source.lines().map(|line| line.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

fn identifier_at(text: &str) -> Option<String> {
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
    (end > 0).then(|| text[..end].to_owned())
}

/// The top-level modules `source` reaches with `crate::name` or `crate::{a, b::c, …}`.
fn modules_named(source: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (index, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if c.is_whitespace() => {}
                    _ if item_start && depth == 0 => {
                        named.extend(identifier_at(&group[index..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            named.extend(identifier_at(rest));
        }
    }
    named
}

/// (importing module, imported module) → the files that make the import.
fn imports() -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut found: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src_dir()) {
        let Some(module) = module_of(&file) else { continue };
        let source = without_comments(&std::fs::read_to_string(&file).unwrap());
        for target in modules_named(&source) {
            if target != module {
                let shown = file.strip_prefix(src_dir()).unwrap().display().to_string();
                found.entry((module.clone(), target)).or_default().insert(shown);
            }
        }
    }
    found
}

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

#[test]
fn every_top_level_module_has_a_layer() {
    let modules: BTreeSet<String> = rust_files(&src_dir()).iter().filter_map(|f| module_of(f)).collect();
    let unplaced: Vec<_> = modules.iter().filter(|m| rank(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "top-level modules missing from LAYERS in tests/api/layers.rs: {unplaced:?}"
    );
    let gone: Vec<_> = LAYERS.iter().filter(|m| !modules.contains(**m)).collect();
    assert!(gone.is_empty(), "LAYERS names modules that no longer exist: {gone:?}");
}

#[test]
fn imports_only_point_down_the_layers() {
    let mut upward = Vec::new();
    for ((from, to), files) in imports() {
        let (Some(from_rank), Some(to_rank)) = (rank(&from), rank(&to)) else { continue };
        if to_rank > from_rank {
            upward.push(format!("{from} imports {to}, which sits above it (in {files:?})"));
        }
    }
    assert!(upward.is_empty(), "imports that run up the layers:\n{}", upward.join("\n"));
}

#[test]
fn the_import_reader_sees_every_imported_path() {
    let source = "use crate::db::Session;\nuse crate::{audit, auth::{tokens, hasher}, stores::x};\nlet a = crate::i18n::current_lang();";
    let named: Vec<String> = modules_named(source).into_iter().collect();
    assert_eq!(named, ["audit", "auth", "db", "i18n", "stores"]);
    assert!(modules_named(&without_comments("/// see [`crate::router`]\nfn f() {}")).is_empty());
}

/// The features: one per URL area, side by side: the stretch of [`LAYERS`] from `auth` to
/// `oauth`.
fn features() -> &'static [&'static str] {
    let at = |name| LAYERS.iter().position(|m| *m == name).expect("a feature named in LAYERS");
    &LAYERS[at("auth")..=at("oauth")]
}

/// The one import between features: `/profile/` answers with `auth`'s `me`.
const FEATURE_IMPORTS: &[(&str, &str)] = &[("profile", "auth")];

#[test]
fn features_import_no_other_feature() {
    let between: Vec<String> = imports()
        .into_iter()
        .filter(|((from, to), _)| features().contains(&from.as_str()) && features().contains(&to.as_str()))
        .filter(|((from, to), _)| !FEATURE_IMPORTS.contains(&(from.as_str(), to.as_str())))
        .map(|((from, to), files)| format!("{from} imports {to} (in {files:?})"))
        .collect();
    assert!(
        between.is_empty(),
        "what features share belongs below them (the domain layer):\n{}",
        between.join("\n")
    );
}

/// The child module a file of `module` is, or is inside: `src/console/pages.rs` → `pages`,
/// `src/auth/handlers/pin.rs` → `handlers`; `None` for the module's own `mod.rs` or file.
fn child_of(file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src_dir()).unwrap();
    let second = relative.components().nth(1)?.as_os_str().to_str()?.to_owned();
    let name = second.strip_suffix(".rs").unwrap_or(&second).to_owned();
    (name != "mod").then_some(name)
}

/// The children of `module` that `source` reaches, as `crate::module::child` or `super::child`
/// (the latter from a file directly in the module's folder).
fn children_named(source: &str, module: &str, direct: bool, children: &BTreeSet<String>) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut prefixes = vec![format!("crate::{module}::")];
    if direct {
        prefixes.push("super::".to_owned());
    }
    for prefix in prefixes {
        let mut rest = source;
        while let Some(at) = rest.find(prefix.as_str()) {
            rest = &rest[at + prefix.len()..];
            named.extend(identifier_at(rest).filter(|name| children.contains(name)));
        }
    }
    named
}

#[test]
fn the_files_of_a_module_import_each_other_without_a_cycle() {
    // child → the children it imports, per top-level module.
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src_dir()) {
        if let (Some(module), Some(child)) = (module_of(&file), child_of(&file)) {
            children.entry(module).or_default().insert(child);
        }
    }
    for file in rust_files(&src_dir()) {
        let (Some(module), Some(child)) = (module_of(&file), child_of(&file)) else { continue };
        let direct = file.parent() == Some(&src_dir().join(&module));
        let source = without_comments(&std::fs::read_to_string(&file).unwrap());
        let targets: Vec<String> = children_named(&source, &module, direct, &children[&module])
            .into_iter()
            .filter(|t| *t != child)
            .collect();
        edges.entry(module).or_default().entry(child).or_default().extend(targets);
    }
    for (module, graph) in &edges {
        for start in graph.keys() {
            // Depth-first from `start`: reaching `start` again is a cycle.
            let mut stack: Vec<String> = graph[start].iter().cloned().collect();
            let mut seen = BTreeSet::new();
            while let Some(next) = stack.pop() {
                assert!(next != *start, "{module}::{start} imports itself through its siblings: {graph:?}");
                if seen.insert(next.clone()) {
                    stack.extend(graph.get(&next).into_iter().flatten().cloned());
                }
            }
        }
    }
}
