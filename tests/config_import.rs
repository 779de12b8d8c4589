//! `import-cib` = the CIB importer + `to_toml`: the TOML written for
//! Pacemaker's scheduler regression CIBs must load back and keep every
//! resource and constraint.

use std::path::{Path, PathBuf};

use paceline::config::cib::import_cib;
use paceline::config::{load_config_str, to_toml};
use paceline::model::Resource;

fn corpus() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let near = root.join("../shared/conformance/pacemaker-scheduler");
    if near.is_dir() {
        near
    } else {
        root.join("../../shared/conformance/pacemaker-scheduler")
    }
}

fn primitive_ids(r: &Resource, out: &mut Vec<String>) {
    match r {
        Resource::Primitive(p) => out.push(p.id.clone()),
        Resource::Group(g) => out.extend(g.members.iter().map(|m| m.id.clone())),
        Resource::Clone(c) => {
            out.push(c.id.clone());
            match &c.child {
                paceline::model::CloneChild::Primitive(p) => out.push(p.id.clone()),
                paceline::model::CloneChild::Group(g) => {
                    out.extend(g.members.iter().map(|m| m.id.clone()))
                }
            }
        }
    }
}

#[test]
fn imported_cibs_load_back() {
    let dir = corpus();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    let (mut ok, mut failed) = (0, Vec::new());
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let Ok(cib) = import_cib(&text) else { continue };
        let mut cfg = cib.config;
        // Fence devices live outside the scheduler model; CIBs without
        // stonith primitives cannot name one.
        let has_stonith = cfg.resources.iter().any(|r| {
            matches!(r, Resource::Primitive(p) if p.class == paceline::model::ResourceClass::Stonith)
        });
        if !has_stonith {
            cfg.properties.stonith_enabled = false;
            cfg.properties.raw.remove("stonith-enabled");
        }
        let toml = to_toml(&cfg);
        match load_config_str(&toml, &f.display().to_string()) {
            Ok(back) => {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                cfg.resources.iter().for_each(|r| primitive_ids(r, &mut a));
                back.resources.iter().for_each(|r| primitive_ids(r, &mut b));
                a.sort();
                b.sort();
                assert_eq!(a, b, "{}", f.display());
                assert_eq!(cfg.orders.len(), back.orders.len(), "{}", f.display());
                assert_eq!(
                    cfg.colocations.len(),
                    back.colocations.len(),
                    "{}",
                    f.display()
                );
                ok += 1;
            }
            Err(e) => failed.push(format!("{}: {e}", f.display())),
        }
    }
    println!("import-cib: {ok} loaded back, {} failed", failed.len());
    for f in failed.iter() {
        println!("{f}\n");
    }
    assert!(ok > 0, "no CIB imported");
    assert!(
        failed.is_empty(),
        "{} imported CIBs do not load back",
        failed.len()
    );
}
