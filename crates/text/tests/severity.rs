//! Severity and tier signals: each kind on realistic 12345-style reports, negations and non-events, offsets,
//! variants, bad input, `raised_tier`, and the hit rate on the real labelled subjects.

use onegrid_core::Tier;
use onegrid_text::data::{default_data_dir, read_labelled, SUBJECTS_FILE};
use onegrid_text::severity::{
    highest_priority, raised_tier, signals, Priority, Signal, SignalKind,
};

fn kinds(text: &str) -> Vec<SignalKind> {
    signals(text).into_iter().map(|s| s.kind).collect()
}

fn assert_kind(kind: SignalKind, texts: &[&str]) {
    for text in texts {
        let found = kinds(text);
        assert!(
            found.contains(&kind),
            "{kind} not found in {text:?}: {found:?}"
        );
    }
}

fn assert_not_kind(kind: SignalKind, texts: &[&str]) {
    for text in texts {
        let found = signals(text);
        assert!(
            !found.iter().any(|s| s.kind == kind),
            "{kind} wrongly found in {text:?}: {found:?}"
        );
    }
}

fn assert_offsets(text: &str) {
    for s in signals(text) {
        let slice: String = text.chars().skip(s.start).take(s.end - s.start).collect();
        assert_eq!(slice, s.matched, "offsets of {s:?} in {text:?}");
        assert!(s.start < s.end && s.end <= text.chars().count());
    }
}

#[test]
fn fire() {
    assert_kind(
        SignalKind::Fire,
        &[
            "A市B区丽景小区3栋5楼着火了，浓烟很大，请马上派人",
            "反映：城东菜市场旁边的仓库起火，火势越来越大",
            "紧急！幸福路一家餐馆厨房发生火灾",
        ],
    );
}

#[test]
fn explosion() {
    assert_kind(
        SignalKind::Explosion,
        &[
            "西湖路一家小吃店刚才发生爆炸，玻璃全碎了",
            "工业园化工厂传来巨响，疑似爆燃",
            "楼下饭店的煤气罐炸了",
        ],
    );
}

#[test]
fn gas_leak() {
    assert_kind(
        SignalKind::GasLeak,
        &[
            "紫荆小区2单元楼道里闻到很浓的煤气味，怀疑煤气泄漏",
            "施工挖断了燃气管道漏气，请燃气公司赶紧处理",
            "家里天然气泄露了，阀门关不上",
        ],
    );
}

#[test]
fn chemical_leak() {
    assert_kind(
        SignalKind::ChemicalLeak,
        &[
            "高速路口一辆槽罐车侧翻，有不明液体流出",
            "工业园区某厂排放有毒气体，附近居民头晕",
            "厂区危化品泄漏，周围都是刺鼻气味",
        ],
    );
    let leak = signals("厂区危化品泄漏，周围都是刺鼻气味");
    assert_eq!(
        leak[0].tier,
        Tier::District,
        "the leak, not the smell, is kept: {leak:?}"
    );
    let smell = signals("小区旁边的工厂晚上散发刺鼻气味");
    assert_eq!(smell.len(), 1);
    assert_eq!(
        (smell[0].tier, smell[0].priority),
        (Tier::Street, Priority::High)
    );
}

#[test]
fn collapse() {
    assert_kind(
        SignalKind::Collapse,
        &[
            "老城区一栋旧楼塌了一半，下面可能有人",
            "建设路施工工地围墙倒塌，压到了路边的车",
            "人民路路面塌陷出一个大坑",
            "我家房屋开裂严重，墙体倾斜，担心出事",
        ],
    );
}

#[test]
fn casualty() {
    assert_kind(
        SignalKind::Casualty,
        &[
            "小区电梯故障，有人被困在里面半个小时了",
            "十字路口两车相撞，一人受伤流血",
            "工地上有工人从脚手架上摔下来，已经昏迷",
        ],
    );
}

#[test]
fn children_at_risk() {
    assert_kind(
        SignalKind::ChildrenAtRisk,
        &[
            "快来人！有个孩子掉进河里了",
            "我家小孩在公园走失，穿红色外套",
            "学校门口窨井盖缺失，小学生很容易掉进去",
        ],
    );
}

#[test]
fn elderly_at_risk() {
    assert_kind(
        SignalKind::ElderlyAtRisk,
        &[
            "楼上独居老人几天没出门，敲门没人应，担心摔倒了",
            "一位老大爷在公交站旁摔倒，起不来",
            "隔壁孤寡老人无人照料，生活困难",
        ],
    );
    let s = signals("一位老大爷在公交站旁摔倒，起不来");
    let elderly = s
        .iter()
        .find(|s| s.kind == SignalKind::ElderlyAtRisk)
        .unwrap();
    assert_eq!(elderly.matched, "老大爷在公交站旁摔倒");
}

#[test]
fn flooding() {
    assert_kind(
        SignalKind::Flooding,
        &[
            "暴雨后小区地下车库雨水倒灌，车都被淹了",
            "河堤决堤了，村里进水",
            "每次下雨这条路内涝严重",
        ],
    );
}

#[test]
fn crowd_gathering() {
    assert_kind(
        SignalKind::CrowdGathering,
        &[
            "几十名工人聚集在项目部门口讨薪，拉横幅",
            "业主围堵售楼部，要求退房",
            "村民堵路阻止施工，发生冲突",
        ],
    );
}

#[test]
fn electric_hazard() {
    assert_kind(
        SignalKind::ElectricHazard,
        &[
            "小区路灯杆底部电线裸露，小孩经常在旁边玩",
            "楼道配电箱漏电，摸上去麻手",
            "台风后路边电线掉落在人行道上",
        ],
    );
}

#[test]
fn fire_hazard_is_not_a_fire() {
    for text in [
        "小区消防通道被占用，私家车乱停",
        "居民在楼道充电，存在火灾隐患",
        "商场占用消防通道堆放货物",
    ] {
        let found = signals(text);
        assert!(
            found.iter().any(|s| s.kind == SignalKind::FireHazard),
            "{text}: {found:?}"
        );
        assert!(
            !found.iter().any(|s| s.kind == SignalKind::Fire),
            "{text}: {found:?}"
        );
        assert_eq!(
            raised_tier(Tier::Grid, &found).map(|(t, _)| t),
            Some(Tier::Street)
        );
    }
}

#[test]
fn negations_and_non_events() {
    assert_not_kind(
        SignalKind::Fire,
        &[
            "经检查没有着火，只是烧烤的烟",
            "社区开展防火宣传",
            "消防通道被占",
        ],
    );
    assert_not_kind(
        SignalKind::Casualty,
        &[
            "事故无人员伤亡",
            "所幸未造成人员伤亡",
            "孩子没有受伤",
            "父亲去世后办理死亡证明很难",
        ],
    );
    assert_not_kind(
        SignalKind::GasLeak,
        &["燃气费太贵了", "煤气罐摆放在楼道里", "询问燃气公司的电话"],
    );
    assert_not_kind(SignalKind::Explosion, &["现在是信息爆炸的时代"]);
    assert_not_kind(SignalKind::Casualty, &["工伤认定后受伤赔偿一直不到位"]);
    for text in [
        "燃气费太贵了",
        "社区开展防火宣传",
        "事故无人员伤亡",
        "建议加强消防演练",
    ] {
        assert!(signals(text).is_empty(), "{text}: {:?}", signals(text));
    }
}

#[test]
fn offsets_are_characters_of_the_original_text() {
    for text in [
        "A市B区丽景小区3栋5楼着火了，浓烟很大",
        "😀😀 快来人！有个孩子掉进河里了",
        "ＡＢＣ　某小區發生火災，有人被困",
        "一位老大爷在公交站旁摔倒，起不来",
        "厂区危化品泄漏，周围都是刺鼻气味，还有人昏迷",
    ] {
        assert_offsets(text);
    }
}

#[test]
fn traditional_and_full_width_variants() {
    let traditional = signals("某小區發生火災，煤氣洩漏，有人受傷");
    let kinds: Vec<SignalKind> = traditional.iter().map(|s| s.kind).collect();
    for kind in [SignalKind::Fire, SignalKind::GasLeak, SignalKind::Casualty] {
        assert!(kinds.contains(&kind), "{kind}: {traditional:?}");
    }
    let fire = traditional
        .iter()
        .find(|s| s.kind == SignalKind::Fire)
        .unwrap();
    assert_eq!(
        fire.matched, "火災",
        "matched text is the original, not the converted one"
    );
    // Full-width punctuation is a clause break like the half-width one.
    assert!(kinds_of("没人管，着火了").contains(&SignalKind::Fire));
    assert!(kinds_of("没人管,着火了").contains(&SignalKind::Fire));
    assert_eq!(kinds_of("１号楼着火了"), kinds_of("1号楼着火了"));
}

fn kinds_of(text: &str) -> Vec<SignalKind> {
    kinds(text)
}

#[test]
fn bad_input_never_panics() {
    assert!(signals("").is_empty());
    assert!(signals("   \t\u{3000}\n").is_empty());
    assert!(signals("😀🔥💥").is_empty());
    assert!(signals("plain ascii text about fire").is_empty());
    let huge = format!("{}着火了", "噪音扰民。".repeat(200_000));
    assert!(huge.len() > 1_000_000);
    let found = signals(&huge);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].start, 1_000_000);
    assert_offsets(&huge[huge.len() - 300..]);
    let mixed: String = "火\u{0}灾\u{FFFF}着😀火 ".repeat(50_000);
    let _ = signals(&mixed);
    // Cut in the middle of phrases and clause breaks at every position.
    let text = "没有着火，孩子掉进河里，燃气费，老人摔倒";
    for n in 0..=text.chars().count() {
        let prefix: String = text.chars().take(n).collect();
        assert_offsets(&prefix);
    }
}

#[test]
fn order_and_deduplication() {
    let found = signals("小区消防通道被占，后来着火了，又着火了，有人受伤，几十人聚集");
    let kinds: Vec<SignalKind> = found.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        vec![
            SignalKind::Fire,
            SignalKind::Casualty,
            SignalKind::CrowdGathering,
            SignalKind::FireHazard
        ]
    );
    assert_eq!(found[0].start, 11, "the first occurrence of 着火 is kept");
    assert_eq!(highest_priority(&found), Some(Priority::Urgent));
    assert_eq!(highest_priority(&[]), None);
}

#[test]
fn raised_tier_names_the_responsible_signal() {
    let found = signals("楼道配电箱漏电，昨晚已经着火了");
    let (tier, by) = raised_tier(Tier::Grid, &found).unwrap();
    assert_eq!((tier, by.kind), (Tier::District, SignalKind::Fire));
    let (tier, by) = raised_tier(Tier::Street, &found).unwrap();
    assert_eq!((tier, by.kind), (Tier::District, SignalKind::Fire));
    assert!(raised_tier(Tier::District, &found).is_none());

    let street_only = signals("楼道配电箱漏电");
    assert_eq!(
        raised_tier(Tier::Grid, &street_only).map(|(t, s)| (t, s.kind)),
        Some((Tier::Street, SignalKind::ElectricHazard))
    );
    assert!(raised_tier(Tier::Street, &street_only).is_none());
    let none: Vec<Signal> = Vec::new();
    assert!(raised_tier(Tier::Grid, &none).is_none());
}

#[test]
fn kinds_have_distinct_names() {
    let mut names: Vec<&str> = SignalKind::ALL.iter().map(|k| k.as_str()).collect();
    let mut zh: Vec<&str> = SignalKind::ALL.iter().map(|k| k.name_zh()).collect();
    names.sort_unstable();
    names.dedup();
    zh.sort_unstable();
    zh.dedup();
    assert_eq!(names.len(), SignalKind::ALL.len());
    assert_eq!(zh.len(), SignalKind::ALL.len());
}

/// The rule set on the 8,070 real subjects: few of them report an emergency, so the share with any signal
/// must be small (a rule that fires on a common word would push it far up).
#[test]
fn hit_rate_on_real_subjects_is_plausible() {
    let file = read_labelled(&default_data_dir().join(SUBJECTS_FILE)).unwrap();
    assert!(file.rows.len() > 8_000);
    let mut hits = 0usize;
    let mut per_kind = std::collections::BTreeMap::new();
    let mut examples = Vec::new();
    for row in &file.rows {
        let found = signals(&row.text);
        if found.is_empty() {
            continue;
        }
        hits += 1;
        for s in &found {
            *per_kind.entry(s.kind.as_str()).or_insert(0usize) += 1;
        }
        if hits % 7 == 1 {
            let labels: Vec<String> = found
                .iter()
                .map(|s| format!("{}[{}]", s.kind.as_str(), s.matched))
                .collect();
            examples.push(format!("{}  →  {}", row.text, labels.join(" ")));
        }
    }
    let share = hits as f64 / file.rows.len() as f64;
    println!(
        "subjects with any signal: {hits} / {} = {:.2} %",
        file.rows.len(),
        share * 100.0
    );
    println!("per kind: {per_kind:?}");
    for example in &examples {
        println!("  {example}");
    }
    assert!(hits > 0, "no signal at all in real reports");
    assert!(
        share < 0.05,
        "share {share} is implausibly high: a rule fires on common words"
    );
}

/// Throughput on the real subjects (a benchmark, not a check: run it in release with
/// `cargo test --release -p onegrid-text --test severity -- --ignored --nocapture throughput`).
#[test]
#[ignore = "benchmark; run in release"]
fn throughput_on_real_subjects() {
    let file = read_labelled(&default_data_dir().join(SUBJECTS_FILE)).unwrap();
    let texts: Vec<&str> = file.rows.iter().map(|r| r.text.as_str()).collect();
    let _ = signals(texts[0]); // build the automaton outside the timing
    let mut best = f64::INFINITY;
    let mut found = 0usize;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        found = texts.iter().map(|t| signals(t).len()).sum();
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "{} subjects in {:.1} ms (best of 5): {:.0} subjects/s, {found} signals",
        texts.len(),
        best * 1e3,
        texts.len() as f64 / best
    );
}

/// The same on the 3,229 real bodies: longer texts mention more, but still a small share.
#[test]
fn hit_rate_on_real_bodies_is_plausible() {
    let file = read_labelled(&default_data_dir().join(onegrid_text::data::BODIES_FILE)).unwrap();
    assert!(file.rows.len() > 3_000);
    let hits = file
        .rows
        .iter()
        .filter(|r| !signals(&r.text).is_empty())
        .count();
    let share = hits as f64 / file.rows.len() as f64;
    println!(
        "bodies with any signal: {hits} / {} = {:.2} %",
        file.rows.len(),
        share * 100.0
    );
    assert!(hits > 0 && share < 0.15, "share {share} of bodies");
}
