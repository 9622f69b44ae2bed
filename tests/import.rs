//! Importer behaviour: every validation rule reports file:line:column, a
//! failed import changes nothing, re-imports are idempotent, replace swaps,
//! regions are assigned and reassigned.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use talentmap::import::{ImportError, ImportKind, ImportOptions, import_file};
use talentmap::model::Taxonomy;
use talentmap::store::{Store, Table};

/// Imports `text` as `kind` into a tiny city and returns the single error.
fn one_error(kind: ImportKind, name: &str, text: &str) -> talentmap::import::RowError {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 3);
    let before = store.data_version().unwrap();
    let path = write(dir.path(), name, text);
    let err = import(&mut store, kind, &path).unwrap_err();
    assert_eq!(store.data_version().unwrap(), before, "a failed import leaves the version");
    let rows = err.row_errors();
    assert_eq!(rows.len(), 1, "exactly one error expected, got {rows:#?}");
    rows[0].clone()
}

const T_HEADER: &str =
    "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n";

#[test]
fn out_of_range_longitude_names_line_and_column() {
    let e = one_error(
        ImportKind::Talents,
        "t.csv",
        &format!(
            "{T_HEADER}T1,117.0,36.6,,,,0812,master,none,none,1990,false\nT2,190.5,36.6,,,,0812,master,none,none,1990,false\n"
        ),
    );
    assert_eq!((e.line, e.column, e.field.as_str(), e.value.as_str()), (3, 2, "home_lon", "190.5"));
    assert!(e.message.contains("[-180, 180]"), "{}", e.message);
    assert!(e.to_string().contains("t.csv:3:2: home_lon"), "{e}");
}

#[test]
fn not_a_number() {
    let e = one_error(
        ImportKind::Talents,
        "t.csv",
        &format!("{T_HEADER}T1,117.0,north,,,,0812,master,none,none,1990,false\n"),
    );
    assert_eq!((e.line, e.column, e.field.as_str()), (2, 3, "home_lat"));
    assert!(e.message.contains("not a number"));
}

#[test]
fn unknown_field_code() {
    let e = one_error(
        ImportKind::Talents,
        "t.csv",
        &format!("{T_HEADER}T1,117.0,36.6,,,,0899,master,none,none,1990,false\n"),
    );
    assert_eq!((e.line, e.column, e.field.as_str(), e.value.as_str()), (2, 7, "field", "0899"));
    assert!(e.message.contains("discipline"));
}

#[test]
fn unknown_education_lists_accepted_values() {
    let e =
        one_error(ImportKind::Talents, "t.csv", &format!("{T_HEADER}T1,117.0,36.6,,,,0812,phd,none,none,1990,false\n"));
    assert_eq!((e.column, e.field.as_str()), (8, "education"));
    assert_eq!(e.message, "accepted values: associate, bachelor, master, doctorate");
}

#[test]
fn tier_and_title_and_bool() {
    let e =
        one_error(ImportKind::Talents, "t.csv", &format!("{T_HEADER}T1,117.0,36.6,,,,0812,master,none,F,1990,false\n"));
    assert_eq!(e.field, "tier");
    let e = one_error(
        ImportKind::Talents,
        "t.csv",
        &format!("{T_HEADER}T1,117.0,36.6,,,,0812,master,professor,none,1990,false\n"),
    );
    assert_eq!(e.field, "title");
    let e = one_error(
        ImportKind::Talents,
        "t.csv",
        &format!("{T_HEADER}T1,117.0,36.6,,,,0812,master,none,none,1990,yes\n"),
    );
    assert_eq!((e.column, e.field.as_str(), e.message.as_str()), (12, "seeking", "expected true or false"));
}

#[test]
fn birth_year_out_of_range() {
    let e = one_error(
        ImportKind::Talents,
        "t.csv",
        &format!("{T_HEADER}T1,117.0,36.6,,,,0812,master,none,none,1850,false\n"),
    );
    assert_eq!(e.field, "birth_year");
    assert!(e.message.contains("out of range"));
}

#[test]
fn work_point_needs_both_coordinates() {
    let e = one_error(
        ImportKind::Talents,
        "t.csv",
        &format!("{T_HEADER}T1,117.0,36.6,117.1,,,0812,master,none,none,1990,false\n"),
    );
    assert_eq!((e.column, e.field.as_str()), (5, "work_lat"));
    assert!(e.message.contains("both or neither"));
}

#[test]
fn reference_to_missing_enterprise() {
    let e = one_error(
        ImportKind::Talents,
        "t.csv",
        &format!("{T_HEADER}T1,117.0,36.6,,,E9,0812,master,none,none,1990,false\n"),
    );
    assert_eq!((e.column, e.field.as_str(), e.value.as_str()), (6, "enterprise_id", "E9"));
    assert!(e.message.contains("import enterprises first"));
}

#[test]
fn duplicate_id_within_a_file() {
    let e = one_error(
        ImportKind::Talents,
        "t.csv",
        &format!(
            "{T_HEADER}T1,117.0,36.6,,,,0812,master,none,none,1990,false\nT1,117.0,36.6,,,,0812,master,none,none,1991,false\n"
        ),
    );
    assert_eq!((e.line, e.column, e.field.as_str()), (3, 1, "id"));
    assert!(e.message.contains("duplicate"));
}

#[test]
fn invalid_id_characters() {
    let e = one_error(ImportKind::Stations, "s.csv", "id,name,lon,lat,mode\nS 1,站,117.0,36.6,metro\n");
    assert_eq!((e.line, e.column, e.field.as_str()), (2, 1, "id"));
}

#[test]
fn missing_required_value() {
    let e = one_error(ImportKind::Stations, "s.csv", "id,name,lon,lat,mode\nS1,,117.0,36.6,metro\n");
    assert_eq!((e.column, e.field.as_str(), e.message.as_str()), (2, "name", "a value is required"));
}

#[test]
fn wrong_number_of_fields() {
    let e = one_error(ImportKind::Stations, "s.csv", "id,name,lon,lat,mode\nS1,站,117.0,36.6\n");
    assert_eq!((e.line, e.column), (2, 0));
    assert!(e.message.contains("4 fields but the header has 5"));
}

#[test]
fn enterprise_rules() {
    let h = "id,name,lon,lat,industry,employees,key\n";
    let e = one_error(ImportKind::Enterprises, "e.csv", &format!("{h}E9,某公司,117.0,36.6,00,10,false\n"));
    assert_eq!((e.column, e.field.as_str()), (5, "industry"));
    let e = one_error(ImportKind::Enterprises, "e.csv", &format!("{h}E9,某公司,117.0,36.6,65,-3,false\n"));
    assert_eq!((e.column, e.field.as_str()), (6, "employees"));
    let e = one_error(ImportKind::Enterprises, "e.csv", &format!("{h}E9,某公司,117.0,86.0,65,3,false\n"));
    assert_eq!(e.field, "lat");
}

#[test]
fn vacancy_rules() {
    let h = "id,enterprise_id,field,education,title,openings,posted,filled\n";
    let e = one_error(ImportKind::Vacancies, "v.csv", &format!("{h}V9,E1,0812,master,none,0,2026-01-01,\n"));
    assert_eq!((e.column, e.field.as_str()), (6, "openings"));
    let e = one_error(ImportKind::Vacancies, "v.csv", &format!("{h}V9,E1,0812,master,none,1,2026-02-30,\n"));
    assert_eq!((e.column, e.field.as_str()), (7, "posted"));
    let e = one_error(ImportKind::Vacancies, "v.csv", &format!("{h}V9,E1,0812,master,none,1,2026-02-03,2026-01-01\n"));
    assert_eq!(e.field, "filled");
    assert!(e.message.contains("before it was posted"));
}

#[test]
fn move_references_existing_talent() {
    let h = "id,talent_id,date,event,from_lon,from_lat,to_lon,to_lat,to_enterprise_id,destination\n";
    let e = one_error(ImportKind::Moves, "m.csv", &format!("{h}M1,T99,2026-07-01,arrive,,,117.0,36.6,,\n"));
    assert_eq!((e.column, e.field.as_str(), e.value.as_str()), (2, "talent_id", "T99"));
    let e = one_error(ImportKind::Moves, "m.csv", &format!("{h}M1,T0,2026-07-01,arrived,,,117.0,36.6,,\n"));
    assert_eq!(e.field, "event");
}

#[test]
fn header_problems_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 1);
    let p = write(dir.path(), "s.csv", "id,name,lon,lat,mdoe\nS1,站,117.0,36.6,metro\n");
    let err = import(&mut store, ImportKind::Stations, &p).unwrap_err();
    assert!(matches!(err, ImportError::Header { .. }));
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("unknown column 'mdoe' (column 5)"), "{err}");
    let rows = err.row_errors();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_eq!((rows[0].line, rows[0].column, rows[0].field.as_str()), (1, 5, "mdoe"));
    assert!(rows[0].to_string().contains("s.csv:1:5: mdoe: unknown column 'mdoe'"), "{}", rows[0]);
    assert_eq!((rows[1].line, rows[1].column, rows[1].field.as_str()), (1, 0, "mode"));
    assert!(rows[1].message.contains("missing required column 'mode'"), "{}", rows[1]);
    let p = write(dir.path(), "s.csv", "id,name,lon,lat\nS1,站,117.0,36.6\n");
    assert!(
        import(&mut store, ImportKind::Stations, &p)
            .unwrap_err()
            .to_string()
            .contains("missing required column 'mode'")
    );
}

/// Regression: header errors named neither line nor column.
#[test]
fn header_errors_name_line_column_and_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 1);
    let before = store.data_version().unwrap();
    for eol in ["\n", "\r\n", "\r"] {
        let p = write(
            dir.path(),
            "s.csv",
            &format!("id,name,lon,lat,mode,name,colour{eol}S1,站,117.0,36.6,metro,x,red{eol}"),
        );
        let err = import(&mut store, ImportKind::Stations, &p).unwrap_err();
        let got: Vec<(u64, usize, &str)> =
            err.row_errors().iter().map(|e| (e.line, e.column, e.field.as_str())).collect();
        assert_eq!(got, vec![(1, 6, "name"), (1, 7, "colour")], "line end {eol:?}");
        assert!(err.row_errors()[0].message.contains("appears twice (columns 2 and 6)"), "{err:?}");
        assert!(err.row_errors()[1].message.contains("accepted columns: id, name, lon, lat, mode"), "{err:?}");
    }
    let p = write(dir.path(), "s.csv", "");
    let err = import(&mut store, ImportKind::Stations, &p).unwrap_err();
    assert!(err.row_errors()[0].message.contains("the file is empty"), "{err:?}");
    assert_eq!(store.data_version().unwrap(), before);
}

#[test]
fn all_errors_are_collected_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 1);
    let mut text = String::from("id,name,lon,lat,mode\n");
    for i in 0..30 {
        text.push_str(&format!("S{i},站,117.0,36.6,tram\n"));
    }
    let p = write(dir.path(), "s.csv", &text);
    let err = import(&mut store, ImportKind::Stations, &p).unwrap_err();
    assert_eq!(err.row_errors().len(), 30);
    let report = dir.path().join("errors.csv");
    talentmap::import::write_report(&report, err.row_errors(), &[]).unwrap();
    let written = std::fs::read_to_string(&report).unwrap();
    assert_eq!(written.lines().count(), 31);
    assert!(written.lines().nth(1).unwrap().contains(",2,5,mode,tram,"));
    assert!(written.lines().nth(1).unwrap().ends_with(",error"));
}

#[test]
fn bom_crlf_and_any_column_order_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 1);
    let p = write(dir.path(), "s.csv", "\u{feff}mode,lat,lon,name,id\r\nrail,36.7,117.1,济南站,S9\r\n");
    let s = import(&mut store, ImportKind::Stations, &p).unwrap();
    assert_eq!((s.rows, s.total), (1, 3));
}

#[test]
fn failed_import_changes_nothing_and_reimport_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 20);
    let snapshot = |store: &Store| -> Vec<(String, String, i64)> {
        let mut stmt = store.conn().prepare("SELECT id, field, birth_year FROM talents ORDER BY id").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    let before = snapshot(&store);
    // Valid rows followed by one bad one: none of the valid rows may land.
    let mut text = talents_csv(25, false);
    text.push_str("T99,117.0,36.6,,,,0812,master,none,none,1990,maybe\n");
    let p = write(dir.path(), "t.csv", &text);
    assert!(import(&mut store, ImportKind::Talents, &p).is_err());
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.count(Table::Talents).unwrap(), 20);

    let p = write(dir.path(), "t.csv", &talents_csv(20, true));
    let v = store.data_version().unwrap();
    import(&mut store, ImportKind::Talents, &p).unwrap();
    assert_eq!(snapshot(&store), before, "same file twice: same records");
    assert_eq!(store.data_version().unwrap(), v + 1, "but a new data version");
}

#[test]
fn replace_swaps_out_all_records_of_the_kind() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 20);
    let p = write(dir.path(), "t.csv", &talents_csv(5, false));
    import_file(
        &mut store,
        &Taxonomy::builtin(),
        ImportKind::Talents,
        &p,
        ImportOptions { replace: true, progress: false },
    )
    .unwrap();
    assert_eq!(store.count(Table::Talents).unwrap(), 5);
    // Replacing enterprises with a set that drops referenced ones is refused.
    let p =
        write(dir.path(), "e.csv", "id,name,lon,lat,industry,employees,key\nE3,齐鲁金融,117.10,36.70,66,50,false\n");
    let err = import_file(
        &mut store,
        &Taxonomy::builtin(),
        ImportKind::Enterprises,
        &p,
        ImportOptions { replace: true, progress: false },
    )
    .unwrap_err();
    assert!(err.to_string().contains("still reference"), "{err}");
    assert_eq!(store.count(Table::Enterprises).unwrap(), 3);
}

#[test]
fn a_replacement_may_not_drop_a_registered_employer() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 0);
    // T0 is registered at E2 and has since moved to E1; no vacancy is at E2.
    let talents = "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking
T0,117.01,36.62,117.30,36.70,E2,0812,bachelor,none,none,1995,false\n";
    import(&mut store, ImportKind::Talents, &write(dir.path(), "t.csv", talents)).unwrap();
    let moves = "id,talent_id,date,event,from_lon,from_lat,to_lon,to_lat,to_enterprise_id,destination
M1,T0,2026-03-02,job_change,117.30,36.70,117.01,36.61,E1,\n";
    import(&mut store, ImportKind::Moves, &write(dir.path(), "m.csv", moves)).unwrap();
    let vacancies =
        "id,enterprise_id,field,education,title,openings,posted,filled\nV1,E1,0812,master,none,5,2026-03-01,\n";
    let mut replace = |kind: ImportKind, name: &str, text: &str| {
        let options = ImportOptions { replace: true, progress: false };
        import_file(&mut store, &Taxonomy::builtin(), kind, &write(dir.path(), name, text), options)
    };
    replace(ImportKind::Vacancies, "v.csv", vacancies).unwrap();
    // E2 is no one's employer now, but T0's register names it.
    let enterprises = "id,name,lon,lat,industry,employees,key\nE1,星辰软件,117.01,36.61,65,120,true\nE3,齐鲁金融,117.10,36.70,66,50,false\n";
    let err = replace(ImportKind::Enterprises, "e.csv", enterprises).unwrap_err();
    assert!(err.to_string().contains("talents (as registered employers) still reference (e.g. T0 → E2)"), "{err}");
    assert_eq!(store.count(Table::Enterprises).unwrap(), 3, "nothing changed");
}

#[test]
fn records_are_assigned_regions_and_reassigned_when_regions_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 3);
    let region_of = |store: &Store, id: &str| -> (Option<String>, Option<String>) {
        store
            .conn()
            .query_row("SELECT district_id, park_id FROM enterprises WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
    };
    assert_eq!(region_of(&store, "E1"), (Some("D1".into()), Some("P1".into())));
    assert_eq!(region_of(&store, "E2"), (Some("D2".into()), None));
    let home: (Option<String>, Option<String>) = store
        .conn()
        .query_row("SELECT home_district, work_park FROM talents WHERE id = 'T0'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(home, (Some("D1".into()), Some("P1".into())));
    // Move the park east over E2: E1 leaves it, E2 enters it.
    let moved = REGIONS.replace(
        "[[[117.0,36.6],[117.05,36.6],[117.05,36.65],[117.0,36.65],[117.0,36.6]]]",
        "[[[117.25,36.65],[117.35,36.65],[117.35,36.75],[117.25,36.75],[117.25,36.65]]]",
    );
    import(&mut store, ImportKind::Regions, &write(dir.path(), "r.geojson", &moved)).unwrap();
    assert_eq!(region_of(&store, "E1"), (Some("D1".into()), None));
    assert_eq!(region_of(&store, "E2"), (Some("D2".into()), Some("P1".into())));
}

#[test]
fn region_file_errors_name_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let bad_kind = REGIONS.replace("\"kind\":\"park\"", "\"kind\":\"zone\"");
    let err = import(&mut store, ImportKind::Regions, &write(dir.path(), "r.geojson", &bad_kind)).unwrap_err();
    assert_eq!(err.row_errors()[0].field, "features[2].properties.kind");
    let open_ring = REGIONS.replace("[117.0,36.8],[117.0,36.6]]]", "[117.0,36.8],[117.0,36.7]]]");
    let err = import(&mut store, ImportKind::Regions, &write(dir.path(), "r.geojson", &open_ring)).unwrap_err();
    assert!(err.row_errors()[0].message.contains("not closed"), "{err:?}");
    let err = import(
        &mut store,
        ImportKind::Regions,
        &write(dir.path(), "r.geojson", "{\"type\": \"FeatureCollection\",\n \"features\": [,]}"),
    )
    .unwrap_err();
    assert_eq!((err.row_errors()[0].line, err.row_errors()[0].column > 0), (2, true));
    // The same syntax error with CRLF and CR line ends: the same physical line and column.
    let mut position = |text: &str| {
        let err = import(&mut store, ImportKind::Regions, &write(dir.path(), "r.geojson", text)).unwrap_err();
        (err.row_errors()[0].line, err.row_errors()[0].column)
    };
    let lf = position("{\"type\": \"FeatureCollection\",\n \"features\": [,]}");
    assert_eq!(lf, (2, 15));
    assert_eq!(position("{\"type\": \"FeatureCollection\",\r\n \"features\": [,]}"), lf);
    assert_eq!(position("{\"type\": \"FeatureCollection\",\r \"features\": [,]}"), lf);
    assert_eq!(store.data_version().unwrap(), 0);
}

/// The stations file `text` with `eol` as line end; the error list of its import.
fn station_errors(eol: &str, rows: &[&str]) -> Vec<(u64, usize, String)> {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 1);
    let mut text = String::from("id,name,lon,lat,mode");
    for r in rows {
        text.push_str(eol);
        text.push_str(r);
    }
    text.push_str(eol);
    let p = write(dir.path(), "s.csv", &text);
    let err = import(&mut store, ImportKind::Stations, &p).unwrap_err();
    err.row_errors().iter().map(|e| (e.line, e.column, e.field.clone())).collect()
}

/// Regression: with CRLF line ends every error was reported one line too
/// low (an error in the first data row said line 1, the header), and a
/// CR-only file was one line.
#[test]
fn errors_name_the_physical_line_for_lf_crlf_and_cr() {
    for eol in ["\n", "\r\n", "\r"] {
        let got = station_errors(eol, &["S1,站,117.0,36.6,tram", "S2,站,117.0,36.6,metro", "S3,站,117.0,north,metro"]);
        assert_eq!(got, vec![(2, 5, "mode".to_string()), (4, 4, "lat".to_string())], "line end {eol:?}");
    }
}

/// Regression: a quoted value holding line breaks moves every later field
/// and record to later physical lines.
#[test]
fn errors_after_a_quoted_newline_name_the_physical_line() {
    for eol in ["\n", "\r\n", "\r"] {
        let got = station_errors(
            eol,
            &[
                &format!("S1,\"济南{eol}站\",117.0,36.6,tram"),
                &format!("\"S{eol}2\",站,117.0,36.6,metro"),
                "S3,站,190,36.6,metro",
            ],
        );
        assert_eq!(
            got,
            vec![
                (2, 2, "name".to_string()),
                (3, 5, "mode".to_string()),
                (4, 1, "id".to_string()),
                (6, 3, "lon".to_string())
            ],
            "line end {eol:?}"
        );
    }
}

#[test]
fn wrong_field_count_and_invalid_utf8_name_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 1);
    let mut bytes =
        b"id,name,lon,lat,mode\r\nS1,ok,117.0,36.6,metro\r\nS2,\xff\xfe,117.0,36.6,metro\r\nS3,x\r\n".to_vec();
    bytes.extend_from_slice(b"S4,y,117.0,36.6,metro\r\n");
    let p = dir.path().join("s.csv");
    std::fs::write(&p, &bytes).unwrap();
    let err = import(&mut store, ImportKind::Stations, &p).unwrap_err();
    let got: Vec<(u64, usize, &str)> = err.row_errors().iter().map(|e| (e.line, e.column, e.field.as_str())).collect();
    assert_eq!(got, vec![(3, 2, "name"), (4, 0, "record")], "{err:?}");
    assert!(err.row_errors()[0].message.contains("UTF-8"), "{err:?}");
    assert_eq!(err.exit_code(), 1);
}

/// Regression: a header-only file bumped the data version (and with
/// `--replace` emptied the kind).
#[test]
fn a_file_without_data_rows_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 4);
    let before = store.data_version().unwrap();
    let imports = store.imports(100).unwrap().len();
    for replace in [false, true] {
        for text in [T_HEADER, "\u{feff}id,home_lon,home_lat,field,education,title,tier,birth_year,seeking\r\n\r\n"] {
            let p = write(dir.path(), "t.csv", text);
            let s = import_file(
                &mut store,
                &Taxonomy::builtin(),
                ImportKind::Talents,
                &p,
                ImportOptions { replace, progress: false },
            )
            .unwrap();
            assert_eq!((s.rows, s.total, s.version, s.changed), (0, 4, before, false), "replace {replace}");
        }
    }
    let p = write(dir.path(), "r.geojson", r#"{"type":"FeatureCollection","features":[]}"#);
    let s = import(&mut store, ImportKind::Regions, &p).unwrap();
    assert_eq!((s.rows, s.total, s.changed), (0, 3, false));
    assert_eq!(store.data_version().unwrap(), before);
    assert_eq!(store.imports(100).unwrap().len(), imports, "nothing logged");
    assert_eq!(store.count(Table::Talents).unwrap(), 4);
}

/// Regression: a point outside every region was imported without a word.
#[test]
fn points_outside_every_region_are_imported_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 1);
    let text = format!(
        "{T_HEADER}T1,117.01,36.62,,,,0812,master,none,none,1990,false\r\nT2,120.5,30.1,117.01,36.61,,0812,master,none,none,1990,false\r\nT3,117.01,36.62,121.0,31.0,,0812,master,none,none,1990,false\r\n"
    );
    let p = write(dir.path(), "t.csv", &text);
    let s = import(&mut store, ImportKind::Talents, &p).unwrap();
    assert!(s.changed);
    assert_eq!((s.rows, s.total_warnings), (3, 2));
    let got: Vec<(u64, usize, &str)> = s.warnings.iter().map(|w| (w.line, w.column, w.field.as_str())).collect();
    assert_eq!(got, vec![(3, 2, "home_lon"), (4, 4, "work_lon")]);
    assert!(s.warnings[0].message.contains("outside every region"), "{:?}", s.warnings[0]);
    assert_eq!(s.warnings[0].value, "120.5, 30.1");
    let district: Option<String> =
        store.conn().query_row("SELECT home_district FROM talents WHERE id = 'T2'", [], |r| r.get(0)).unwrap();
    assert_eq!(district, None);
    // Stations and enterprises too; vacancies and moves have no points of their own to check.
    let p = write(dir.path(), "s.csv", "id,name,lon,lat,mode\nS9,远站,100.0,30.0,rail\n");
    let s = import(&mut store, ImportKind::Stations, &p).unwrap();
    assert_eq!((s.total_warnings, s.warnings[0].line, s.warnings[0].column), (1, 2, 3));
    let report = dir.path().join("report.csv");
    talentmap::import::write_report(&report, &[], &s.warnings).unwrap();
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(written.lines().nth(1).unwrap().contains("s.csv,2,3,lon,"), "{written}");
    assert!(written.lines().nth(1).unwrap().ends_with(",warning"), "{written}");
    // Moves may come from or go to other cities: no warning.
    let p = write(
        dir.path(),
        "m.csv",
        "id,talent_id,date,event,from_lon,from_lat,to_lon,to_lat,to_enterprise_id,destination\nM1,T0,2026-07-01,leave,117.01,36.62,121.4,31.2,,上海\n",
    );
    assert_eq!(import(&mut store, ImportKind::Moves, &p).unwrap().total_warnings, 0);
    // A regions file that leaves stored points outside says how many.
    let only_d2 = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":"D2","name":"二区"},"geometry":{"type":"Polygon","coordinates":[[[117.2,36.6],[117.4,36.6],[117.4,36.8],[117.2,36.8],[117.2,36.6]]]}}]}"#;
    let s = import(&mut store, ImportKind::Regions, &write(dir.path(), "r.geojson", only_d2)).unwrap();
    assert!(s.unassigned > 0, "{s:?}");
}

#[test]
fn check_reader_validates_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 2);
    let before = store.data_version().unwrap();
    let s = talentmap::import::check_reader(
        &mut store,
        &Taxonomy::builtin(),
        ImportKind::Talents,
        "t.csv",
        talents_csv(5, false).as_bytes(),
        ImportOptions::default(),
    )
    .unwrap();
    assert_eq!((s.rows, s.total, s.changed, s.version), (5, 5, false, before));
    assert_eq!(store.count(Table::Talents).unwrap(), 2);
    assert_eq!(store.data_version().unwrap(), before);
}

/// The people layer's indexes are rebuilt after a first import of talents;
/// an import that fails keeps them (and everything else) as they were, and
/// one that succeeds leaves them in place and filled.
#[test]
fn a_first_talent_import_rebuilds_the_people_indexes_and_a_failed_one_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 0);
    let indexes = |store: &Store| -> i64 {
        store
            .conn()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('talents_pid', 'talents_home')",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(indexes(&store), 2);
    let mut bad = talents_csv(3, true);
    bad.push_str("T9,999,36.62,117.01,36.61,E1,0812,bachelor,none,none,1995,true\n");
    assert!(import(&mut store, ImportKind::Talents, &write(dir.path(), "bad.csv", &bad)).is_err());
    assert_eq!(indexes(&store), 2, "a failed import keeps the indexes");
    assert_eq!(store.count(Table::Talents).unwrap(), 0);
    import(&mut store, ImportKind::Talents, &write(dir.path(), "good.csv", &talents_csv(30, true))).unwrap();
    assert_eq!(indexes(&store), 2);
    let with_pid: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM talents INDEXED BY talents_pid WHERE pid IS NOT NULL AND rkey IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(with_pid, 30);
}

#[test]
fn english_names_are_imported_optional_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 3);
    let snap = talentmap::snapshot::build(&mut store, std::sync::Arc::new(Taxonomy::builtin())).unwrap();
    let region = |id: &str| snap.regions.iter().find(|r| r.id == id).unwrap().name_en.clone();
    assert_eq!((region("D1"), region("D2")), ("First District".to_string(), String::new()));
    let station = |id: &str| snap.stations.iter().find(|s| s.id == id).unwrap().name_en.clone();
    assert_eq!((station("S1"), station("S2")), ("Station One".to_string(), String::new()));

    // A stations file without the column is still accepted.
    let before = store.data_version().unwrap();
    let plain = "id,name,lon,lat,mode\nS3,三号站,117.03,36.63,metro\n";
    import(&mut store, ImportKind::Stations, &write(dir.path(), "s.csv", plain)).unwrap();
    assert!(store.data_version().unwrap() > before);

    // Bad English names are named by feature path and by line and column.
    let long = "x".repeat(201);
    let bad = REGIONS.replace("\"First District\"", &format!("\"{long}\""));
    let err = import(&mut store, ImportKind::Regions, &write(dir.path(), "r.geojson", &bad)).unwrap_err();
    assert_eq!(err.row_errors()[0].field, "features[0].properties.name_en");
    let e =
        one_error(ImportKind::Stations, "s.csv", "id,name,lon,lat,mode,name_en\nS4,四号站,117.0,36.6,metro,A\u{7}B\n");
    assert_eq!((e.line, e.column, e.field.as_str()), (2, 6, "name_en"));
}
