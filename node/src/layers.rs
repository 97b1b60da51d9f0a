//! Checks the crate's layer order, as the crate documentation lists it: every `crate::` path
//! in a module's sources (tests aside) names a module listed before it. A test only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules in the order the crate documentation lists them.
fn documented_order(lib: &str) -> Vec<String> {
	let mut order = Vec::new();
	let mut in_list = false;
	for line in lib.lines().take_while(|line| line.starts_with("//!")) {
		let text = line.trim_start_matches("//!").trim();
		let numbered = text.split_once(". ").is_some_and(|(n, _)| n.parse::<u8>().is_ok());
		in_list = numbered || (in_list && !text.is_empty() && line.starts_with("//!    "));
		if !in_list {
			continue;
		}
		// Names in backticks; a path such as `payment::Payments` is no layer entry.
		for (i, name) in text.split('`').enumerate() {
			if i % 2 == 1 && !name.contains("::") {
				order.push(name.to_string());
			}
		}
	}
	order
}

/// What the crate root re-exports, by name: `crate::Name` means that module.
fn root_exports(lib: &str) -> BTreeMap<String, String> {
	let mut exports = BTreeMap::new();
	let mut statement = String::new();
	for line in lib.lines() {
		if statement.is_empty() && !line.starts_with("pub use ") {
			continue;
		}
		statement.push_str(line);
		if !line.trim_end().ends_with(';') {
			continue;
		}
		let body = statement.trim_start_matches("pub use ").trim_end_matches(';').to_string();
		statement.clear();
		let Some((module, names)) = body.split_once("::") else { continue };
		for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
			let name = name.split(" as ").last().unwrap_or(name).trim();
			if !name.is_empty() {
				exports.insert(name.to_string(), module.to_string());
			}
		}
	}
	exports
}

/// The sources of a module, without its unit tests.
fn non_test_source(path: &Path) -> String {
	let text = std::fs::read_to_string(path).expect("read source");
	let cut = text.find("#[cfg(test)]\nmod tests {").unwrap_or(text.len());
	text[..cut]
		.lines()
		.filter(|line| !line.trim_start().starts_with("//"))
		.collect::<Vec<_>>()
		.join("\n")
}

/// Every top-level module's sources, by module name (tests aside).
fn sources(src: &Path) -> BTreeMap<String, Vec<std::path::PathBuf>> {
	let mut by_module: BTreeMap<String, Vec<_>> = BTreeMap::new();
	let mut stack = vec![src.to_path_buf()];
	while let Some(dir) = stack.pop() {
		for entry in std::fs::read_dir(&dir).expect("read dir") {
			let path = entry.expect("entry").path();
			let relative = path.strip_prefix(src).expect("inside src");
			let top = relative.components().next().expect("component");
			let module = top.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
			if path.is_dir() {
				if path.file_name().is_some_and(|name| name != "tests") {
					stack.push(path);
				}
			} else if path.extension().is_some_and(|ext| ext == "rs")
				&& path.file_name().is_some_and(|name| name != "tests.rs")
				&& module != "layers"
			{
				by_module.entry(module).or_default().push(path);
			}
		}
	}
	by_module
}

/// The modules a source names through `crate::` (`crate::a::b`, `crate::{a, b::c}`, and the
/// root's re-exports); `crate::info!` and the other macros are no module.
fn named_modules(source: &str, exports: &BTreeMap<String, String>) -> BTreeSet<String> {
	let mut named = BTreeSet::new();
	let mut resolve = |word: &str| {
		let word = word.trim();
		if word.is_empty() {
			return;
		}
		match word.chars().next() {
			Some(c) if c.is_ascii_lowercase() => {
				named.insert(word.to_string());
			}
			// `model::*` is the one glob: a name not exported by name is the model's.
			_ => {
				named.insert(exports.get(word).cloned().unwrap_or_else(|| "model".to_string()));
			}
		}
	};
	for (i, _) in source.match_indices("crate::") {
		let rest = &source[i + "crate::".len()..];
		if let Some(group) = rest.strip_prefix('{') {
			let group = &group[..group.find('}').unwrap_or(group.len())];
			for part in group.split(',') {
				resolve(part.split("::").next().unwrap_or(""));
			}
		} else {
			let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
			let word = &rest[..end];
			// `crate::info!(...)` is a macro, not a module.
			if !rest[end..].starts_with('!') {
				resolve(word);
			}
		}
	}
	named
}

#[test]
fn every_import_names_a_module_listed_before_it() {
	let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
	let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
	let order = documented_order(&lib);
	let exports = root_exports(&lib);
	let position = |module: &str| order.iter().position(|m| m == module);
	let mut upward = Vec::new();
	for (module, paths) in sources(&src) {
		if module == "lib" {
			continue;
		}
		let Some(at) = position(&module) else {
			panic!("module {module} is not in the layer list of lib.rs");
		};
		for path in paths {
			for named in named_modules(&non_test_source(&path), &exports) {
				let Some(target) = position(&named) else {
					panic!("{} names crate::{named}, which the layer list lacks", path.display());
				};
				if target >= at && named != module {
					upward.push(format!("{} -> {named}", path.display()));
				}
			}
		}
	}
	assert!(
		upward.is_empty(),
		"imports that do not go down the layer list:\n{}",
		upward.join("\n")
	);
}

#[test]
fn the_layer_list_is_read_as_written() {
	let lib =
		"//! Intro.\n//! 1. First: `a`, `b`.\n//! 2. Second: `c::D` in `c`,\n//!    `d`.\n//!\n\
	           //! Not `e`.\n";
	assert_eq!(documented_order(lib), ["a", "b", "c", "d"]);
	let exports = root_exports("pub use x::{Y, Z as W};\npub use v::U;\n");
	let named = named_modules(
		"use crate::a::b;\nuse crate::{c, d::E};\ncrate::info!(l, \"\");\ncrate::W::new()\ncrate::U;",
		&exports,
	);
	assert_eq!(named.into_iter().collect::<Vec<_>>(), ["a", "c", "d", "v", "x"]);
}
