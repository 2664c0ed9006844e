"""The report as a small document model, rendered to Markdown and to self-contained HTML."""

from __future__ import annotations

import base64
import html
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import anytime, decisions, stats
from analysis.curves import MEASURES, at_epoch, hyperband_rungs
from analysis.significance import Comparison
from analysis.styles import DISPLAY_NAMES

FLOAT_FORMAT = "{:.4g}"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame


@dataclass(frozen=True)
class Figure:
    name: str  # file stem under figures/
    caption: str


@dataclass(frozen=True)
class Details:
    """Blocks below the fold: collapsed in HTML (``<details>``), a marked section in Markdown."""

    summary: str
    blocks: list[Heading | Paragraph | Bullets | Table | Figure]


Block = Heading | Paragraph | Bullets | Table | Figure | Details


@dataclass
class Document:
    title: str
    figures_dir: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for block in self.blocks:
            out += self._markdown_block(block)
        return "\n".join(out)

    def _markdown_block(self, block: Block) -> list[str]:
        if isinstance(block, Heading):
            return ["#" * block.level + " " + block.text, ""]
        if isinstance(block, Paragraph):
            return [block.text, ""]
        if isinstance(block, Bullets):
            return [f"- {item}" for item in block.items] + [""]
        if isinstance(block, Table):
            return [_formatted(block.frame).to_markdown(index=False), ""]
        if isinstance(block, Details):
            # GitHub and most Markdown viewers fold raw <details>; the blank lines let the
            # Markdown inside render.
            inner = [line for b in block.blocks for line in self._markdown_block(b)]
            summary = f"<details><summary>{html.escape(block.summary)}</summary>"
            return [summary, "", *inner, "</details>", ""]
        return [
            f"![{block.caption}]({self.figures_dir}/{block.name}.png)",
            "",
            f"*{block.caption}*",
            "",
        ]

    def html(self, directory: Path) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        body += [self._html_block(block, directory) for block in self.blocks]
        return (
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(body)
            + "</body></html>\n"
        )

    def _html_block(self, block: Block, directory: Path) -> str:
        if isinstance(block, Heading):
            return f"<h{block.level}>{html.escape(block.text)}</h{block.level}>"
        if isinstance(block, Paragraph):
            return f"<p>{_inline(block.text)}</p>"
        if isinstance(block, Bullets):
            items = "".join(f"<li>{_inline(i)}</li>" for i in block.items)
            return f"<ul>{items}</ul>"
        if isinstance(block, Table):
            return _formatted(block.frame).to_html(index=False, border=0, escape=True)
        if isinstance(block, Details):
            inner = "\n".join(self._html_block(b, directory) for b in block.blocks)
            return f"<details><summary>{html.escape(block.summary)}</summary>{inner}</details>"
        png = directory / self.figures_dir / f"{block.name}.png"
        data = base64.b64encode(png.read_bytes()).decode()
        return (
            f'<figure><img alt="{html.escape(block.caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>'
            f"{html.escape(block.caption)}</figcaption></figure>"
        )


CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
    "line-height:1.45;color:#222}table{border-collapse:collapse;font-size:0.85em;margin:1em 0;"
    "display:block;overflow-x:auto}th,td{padding:0.25em 0.6em;border-bottom:1px solid #ddd;"
    "text-align:right}th{background:#f4f4f4}img{max-width:100%}figcaption{font-size:0.9em;"
    "color:#555}code{background:#f4f4f4;padding:0 0.2em}summary{cursor:pointer;font-weight:600;"
    "margin:0.8em 0}details{margin:0.5em 0 1em}.answer li{margin:0.3em 0}"
)


def _inline(text: str) -> str:
    """Markdown's `code` and **bold** in HTML; everything else escaped."""
    escaped = html.escape(text)
    parts = escaped.split("`")
    escaped = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = escaped.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def _formatted(frame: pd.DataFrame) -> pd.DataFrame:
    def fmt(value: object) -> object:
        if isinstance(value, (float, np.floating)):
            return (
                "–"
                if math.isnan(value)
                else ("∞" if math.isinf(value) else FLOAT_FORMAT.format(value))
            )
        return value

    return frame.map(fmt).rename(columns=readable)


WORDS = {
    "val": "validation",
    "iqr": "IQR",
    "ert": "ERT",
    "n": "#",
    "p": "p",
    "a12": "A12",
    "cliffs": "Cliff's",
    "pct": "%",
    **{k: v for k, v in DISPLAY_NAMES.items() if "_" not in k},
}


def readable(column: str) -> str:
    """``test_rmse_median`` → ``test RMSE median``: table headers for people, not code."""
    if not isinstance(column, str) or "_" not in column:
        return column
    return " ".join(WORDS.get(word, word) for word in column.split("_")).replace(" %", "%")


def p_text(p: float) -> str:
    return "n/a" if not np.isfinite(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def build_document(result, figures_dir: str) -> Document:  # type: ignore[no-untyped-def]
    """Assemble the report from computed results: every number comes from ``result``."""
    study = result.study
    metric = study.objective_metric
    direction = study.metric_directions[metric]
    sig = result.significance
    spec = study.spec
    doc = Document(f"tunebench study “{study.name}”", figures_dir)
    protocol = spec.protocol
    doc.add(
        Paragraph(
            f"Problem `{spec.problem}`, search space `{spec.space}`; "
            f"{len(study.strategies)} strategies × {len(study.seeds)} paired seeds; budget "
            f"{study.budget:g} full-fidelity evaluations of {protocol.max_epochs} "
            f"epochs per cell; validation `{protocol.validation}`; objective: "
            f"validation {metric} ({better_text(direction)}). Metrics recorded: "
            f"{directions_text(study.metric_directions, metric)}."
        ),
        *answer_blocks(result),
        Heading("What this study shows"),
        Bullets(findings(result)),
        Heading("Design check"),
        Paragraph(design_text(sig)),
        Heading("Comparison"),
        Paragraph(
            f"Per strategy, over seeds: median and interquartile range (IQR) of the final test "
            f"scores of the incumbent, median wall time per cell, median evaluations to "
            f"convergence (full-fidelity-equivalent evaluations until the incumbent is within "
            f"1% of the best validation {metric} any strategy reached on that seed; runs that "
            f"never get there count as the whole budget), the Bayesmark-style normalised score at "
            f"the end of the budget ({anytime.REFERENCE} = 1, best known = 0; lower is better) "
            f"and COCO's expected running time (ERT) to 1/2/5% of the seed's best."
        ),
        Table(result.comparison),
        Figure("time_vs_performance", "Wall time vs final test score, and where the time goes"),
    )
    doc.add(
        Heading("Frequentist tests (second view; secondary family: all pairs)"),
        Paragraph(seeds_text(sig)),
    )
    for comparison in sig.comparisons:
        doc.add(Heading(comparison.measure.capitalize(), 3), Paragraph(omnibus_text(comparison)))
        if not comparison.pairwise.empty:
            doc.add(
                Details(
                    f"All {len(comparison.pairwise)} pairs on {comparison.measure}",
                    [Table(pairwise_view(comparison))],
                )
            )
    doc.add(
        Paragraph(
            "Columns: median a − b = median over seeds of (a − b) in the metric's units "
            "with a 95% percentile-bootstrap CI (needs ≥ 3 seeds); Cliff's δ > 0 and "
            "A12 > 0.5 mean a tends to beat b; p (Holm) is the Wilcoxon signed-rank p-value "
            "after Holm's correction over all pairs (within each measure; across the three "
            "checkpoints for the anytime measures). Every table is also a CSV under `tables/`."
        )
    )
    figure_names = {p.stem for p in study.store.figures_dir.glob("*.png")}
    if "critical_difference" in figure_names:
        doc.add(
            Figure(
                "critical_difference",
                "Critical-difference diagram: mean ranks on the test score; strategies "
                "joined by a bar are not significantly different (Nemenyi, α = 0.05)",
            )
        )
    doc.add(Heading("Anytime performance"))
    for name, caption in (
        (
            "best_so_far",
            "Best-so-far validation score against full-fidelity-equivalent "
            "evaluations (median and IQR over seeds)",
        ),
        ("best_so_far_epochs", "… against epochs trained"),
        ("best_so_far_time", "… against wall time"),
        ("mean_rank", "Mean rank over seeds at each budget point (1 = best)"),
        ("normalised_score", f"Normalised score ({anytime.REFERENCE} = 1, best known = 0)"),
        ("ecdf", "Share of runs reaching 1/2/5% of the seed's best, against evaluations"),
    ):
        if name in figure_names:
            doc.add(Figure(name, caption))
    doc.add(
        Paragraph(
            "Expected running time (full-fidelity-equivalent evaluations; ∞ when no "
            "run reached the target):"
        ),
        Table(ert_view(result.ert)),
    )
    doc.add(Heading("Learning curves: do early ranks predict final ranks?"))
    if "fidelity_rank_correlation" in figure_names:
        doc.add(
            Paragraph(fidelity_text(result.fidelity_ranks)),
            Figure(
                "fidelity_rank_correlation",
                "Spearman rank correlation between full-fidelity evaluations' validation "
                "score at epoch e (first fold: the value at e, and the best value up to e; "
                "an early-stopped curve carries its last value forward) and their final "
                "score, within each seed and averaged over seeds; bands: 95% percentile "
                "bootstrap over evaluations resampled within seeds; dotted: Hyperband's "
                "lower rungs at factor 3",
            ),
        )
    else:
        doc.add(Paragraph(result.fidelity_note or "No learning curves to analyse."))
    doc.add(Heading("Parameter importance"), Paragraph(importance_text(result.importance)))
    imp = result.importance
    if not imp.fanova.empty or not imp.ped_anova.empty:
        doc.add(Table(pd.concat([imp.fanova, imp.ped_anova], ignore_index=True)))
    if not imp.anova.empty:
        doc.add(
            Paragraph(
                f"OLS ANOVA (type II) of validation {metric} on the parameters "
                f"(numeric ones standardised, log-scale ones in log10) — main effects "
                f"and pairwise interactions, partial η² and p-values:"
            ),
            Table(imp.anova),
        )
    for name, caption in (
        ("importance", "Importance: fANOVA (error bars: sd over forest seeds) and PED-ANOVA"),
        ("marginals", f"Validation {metric} against each parameter"),
        ("interaction", "Interaction heatmap for the strongest pair"),
    ):
        if name in figure_names:
            doc.add(Figure(name, caption))
    doc.add(Heading("Environment"), Bullets(environment_items(study, result.notes)))
    return doc


def answer_blocks(result) -> list[Block]:  # type: ignore[no-untyped-def]
    """The first screen: each strategy against the control, decided, with probabilities."""
    d: decisions.Decisions = result.decisions
    primary = d.primary
    n = len(result.significance.design.complete_seeds)
    k = len(primary)
    blocks: list[Block] = [Heading(f"Answer: each strategy against {d.control}")]
    if primary.empty:
        return [*blocks, Paragraph("Only one strategy: nothing to compare.")]
    counts = primary["decision"].value_counts()
    tally = ", ".join(f"{counts[c]} {c}" for c in decisions.DECISIONS if c in counts)
    blocks += [
        Paragraph(
            f"**Primary family**: the {k} comparisons against the control `{d.control}` on the "
            f"final {d.measure}, over {n} paired seeds ({tally}). Differences are "
            f"strategy − {d.control} in the metric's units, median over seeds with a 95% "
            f"bootstrap interval ({better_text(result.study.metric_directions[result.study.objective_metric])})."
        ),
        Bullets(d.sentences()),
        Paragraph(rule_text(d)),
    ]
    figure_names = {p.stem for p in result.study.store.figures_dir.glob("*.png")}
    if "decision_matrix" in figure_names:
        blocks.append(
            Figure(
                "decision_matrix",
                "Decision matrix, all pairs (secondary family): P(row better than column) by "
                "the Bayesian signed-rank test; ≈ marks practical equivalence, a frame a "
                "decided advantage of the row",
            )
        )
    blocks.append(Table(primary_view(d)))
    blocks.append(
        Details(
            f"All {len(d.secondary)} pairs, Bayesian signed-rank test (secondary family)",
            [
                Paragraph(
                    "Every pair a vs b on the final test objective under the same ROPE and "
                    "thresholds; p (Holm) is the Wilcoxon p-value after Holm's correction over "
                    "all pairs. Claims from this table belong to the secondary family."
                ),
                Table(pairs_view(d.secondary)),
            ],
        )
    )
    return blocks


def rule_text(d: decisions.Decisions) -> str:
    rule = d.rule.for_looks(d.looks)
    sequential = (
        f" The study grew in up to {d.looks} looks (seeds until decided), so a directional "
        f"claim needs P ≥ {rule.direction:.4g} (Bonferroni over the looks)."
        if d.looks > 1
        else ""
    )
    return (
        f"How to read it: Bayesian signed-rank test (Benavoli et al., JMLR 2017; baycomp) with "
        f"a region of practical equivalence (ROPE) of ±{d.rule.rope:g}{d.unit}, "
        f"{d.rope_source}. **better** / **worse** when P(better) or P(worse) ≥ "
        f"{d.rule.direction:g} (either direction could be claimed, so each takes half of 5%); "
        f"**equivalent** when P(equivalent) ≥ {d.rule.equivalence:g}; otherwise **undecided**, "
        f"with the paired seeds at which 80% of studies resampled from the observed "
        f"differences would decide.{sequential} The frequentist view (Wilcoxon signed-rank, "
        f"Holm over these {len(d.primary)} comparisons) is in the table's last column."
    )


def primary_view(d: decisions.Decisions) -> pd.DataFrame:
    t = d.primary
    view = _comparison_columns(t, ("strategy",), ("better", "worse"), "decision")
    view.insert(2, f"median difference ({d.unit.strip()})", t["median_difference"])
    view.insert(
        len(view.columns) - 1,
        "seeds to decide",
        [
            _seeds(v, dec)
            for v, dec in zip(t.get("seeds_needed", [None] * len(t)), t["decision"], strict=True)
        ],
    )
    return view


def pairs_view(t: pd.DataFrame) -> pd.DataFrame:
    view = _comparison_columns(t, ("a", "b"), ("a better", "b better"), "decision for a")
    view.insert(3, "median a − b", t["median_difference"])
    return view


def _comparison_columns(
    t: pd.DataFrame, names: tuple[str, ...], sides: tuple[str, str], decision: str
) -> pd.DataFrame:
    """What every comparison table shows: who, seeds, interval, the three probabilities,
    the decision and the frequentist p."""
    columns = {name: t[key] for name, key in zip(names, ("a", "b"), strict=False)}
    return pd.DataFrame(
        {
            **columns,
            "seeds": t["n_seeds"],
            "95% interval": [
                _interval(lo, hi) for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)
            ],
            f"P({sides[0]})": t["p_a_better"].map(probability_text),
            "P(equivalent)": t["p_equivalent"].map(probability_text),
            f"P({sides[1]})": t["p_b_better"].map(probability_text),
            decision: t["decision"],
            f"Wilcoxon p (Holm over {len(t)})": t["p_holm"],
        }
    )


def probability_text(p: float) -> str:
    """Posterior probabilities to three decimals: 0.000 and 1.000 are Monte Carlo limits."""
    return "–" if not np.isfinite(p) else f"{p:.3f}"


def _interval(low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "–"
    return f"[{low:.3g}, {high:.3g}]"


def _seeds(value: object, decision: str) -> str:
    if decision != "undecided":
        return "decided"
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return f"> {decisions.SEEDS_LIMIT}"
    return f"about {int(value)}"  # type: ignore[call-overload]


def better_text(direction: str) -> str:
    return "lower is better" if direction == "min" else "higher is better"


def directions_text(directions: dict[str, str], first: str) -> str:
    """Each metric with its direction, as the records declare them; ``first`` leads."""
    names = [first, *sorted(n for n in directions if n != first)]
    return ", ".join(f"{name} ({better_text(directions[name])})" for name in names)


def design_text(sig) -> str:  # type: ignore[no-untyped-def]
    d = sig.design
    if d.is_complete:
        return (
            f"Complete: every strategy has a record for each of the {len(d.seeds)} paired "
            f"seeds ({', '.join(map(str, d.seeds))})."
        )
    missing = ", ".join(f"{s} seed {k}" for s, k in d.missing)
    return (
        f"Incomplete: missing {missing}. The tests use the complete part only: seeds "
        f"{', '.join(map(str, d.complete_seeds)) or 'none'}."
    )


def seeds_text(sig) -> str:  # type: ignore[no-untyped-def]
    n = len(sig.design.complete_seeds)
    k = len(sig.design.strategies)
    m = k * (k - 1) // 2
    if not sig.enough_seeds:
        return (
            f"**Too few seeds for significance.** With {n} paired seeds the smallest "
            f"possible two-sided Wilcoxon p-value is {2 / 2**n:.3g}; after Holm's "
            f"correction over {m} pairs no difference can reach p < {stats.ALPHA} whatever "
            f"the data (that needs ≥ {sig.min_seeds} seeds for {k} strategies). The p-values "
            f"below are reported for completeness; read the effect sizes and ranks as "
            f"descriptive."
        )
    return (
        f"{n} paired seeds: enough for Holm-corrected Wilcoxon tests over {m} pairs to reach "
        f"p < {stats.ALPHA} (the minimum is {sig.min_seeds})."
    )


def omnibus_text(c: Comparison) -> str:
    n, k = c.matrix.shape
    if k < 2 or n < 2:
        return f"Not testable: {n} complete seeds, {k} strategies."
    ranks = ", ".join(f"{s} {r:.2f}" for s, r in c.ranks.sort_values().items())
    parts = [f"Mean ranks (1 = best): {ranks}."]
    p = c.friedman["pvalue"]
    if np.isfinite(p):
        p_adj = c.friedman.get("pvalue_holm", p)
        verdict = "differ" if p_adj < stats.ALPHA else "are not shown to differ"
        adj = (
            f", Holm-adjusted across checkpoints {p_text(p_adj)}"
            if "pvalue_holm" in c.friedman
            else ""
        )
        parts.append(
            f"Friedman χ² = {c.friedman['statistic']:.2f}, p = {p_text(p)}{adj}: the "
            f"strategies {verdict} at α = {stats.ALPHA}."
        )
    else:
        parts.append(
            "Friedman's test needs at least 3 strategies; the pairwise test below is "
            "the whole story."
        )
    if not c.pairwise.empty:
        sig = c.pairwise[c.pairwise["significant"]]
        if sig.empty:
            parts.append("No pair differs after Holm's correction.")
        else:
            pairs = "; ".join(_pair_words(r) for _, r in sig.iterrows())
            parts.append(f"Significant after Holm: {pairs}.")
    return " ".join(parts)


def _pair_words(row: pd.Series) -> str:
    better, worse = (row["a"], row["b"]) if row["cliffs_delta"] > 0 else (row["b"], row["a"])
    return f"{better} beats {worse} (p_holm = {p_text(row['p_holm'])}, Cliff's δ = {abs(row['cliffs_delta']):.2f})"


def pairwise_view(c: Comparison) -> pd.DataFrame:
    columns = [
        "a",
        "b",
        "n_seeds",
        "median_difference",
        "ci_low",
        "ci_high",
        "cliffs_delta",
        "a12",
        "p",
        "p_holm",
        "significant",
    ]
    return c.pairwise[columns]


def ert_view(ert: pd.DataFrame) -> pd.DataFrame:
    if ert.empty:
        return ert
    view = ert.assign(target=ert["target"].map(lambda t: f"within {t:.0%}"))
    view["ert"] = view.apply(
        lambda r: (
            f"{r['ert']:.3g} ({r['hits']}/{r['runs']} runs)"
            if np.isfinite(r["ert"])
            else f"∞ (0/{r['runs']} runs)"
        ),
        axis=1,
    )
    return view.pivot(index="strategy", columns="target", values="ert").reset_index()


def fidelity_text(correlation: pd.DataFrame) -> str:
    """What the rank-correlation figure shows, in numbers."""
    first = correlation.iloc[0]
    value, best = MEASURES["score"], MEASURES["best_so_far"]
    rungs = hyperband_rungs(int(correlation["epoch"].max()))
    at = max(rungs) if rungs else 1
    rows = at_epoch(correlation, at)
    where = (
        f"at {at} epochs ({rows[value]['fraction']:.0%} of the maximum, Hyperband's highest "
        f"lower rung)"
        if at > 1
        else "after one epoch"
    )
    last = at_epoch(correlation, int(correlation["epoch"].max()))
    parts = [
        f"Hyperband and BOHB discard configurations on their early scores, betting that "
        f"early ranks hold. Over {int(first['n_evaluations'])} completed full-fidelity "
        f"evaluations on {int(first['n_seeds'])} seeds (a configuration evaluated again on "
        f"a seed counts once), {where} the rank correlation with the final score is "
        f"ρ = {_rho(rows[value])} for the curve's value at that epoch (what BOHB's pruner "
        f"compares) and {_rho(rows[best])} for its best value so far (what an MLP "
        f"evaluation trained for that many epochs records, as Keras restores the best "
        f"epoch's weights; a synthetic problem records the value).",
    ]
    stopped = float(last[value]["carried_share"])
    parts.append(
        f"Early stopping ended {stopped:.0%} of the curves before the last epoch; they carry "
        f"their last value forward."
        if stopped > 0
        else "No curve was stopped early."
    )
    below = [m for m, row in last.items() if row["rho"] < 0.995]
    if below:
        parts.append(
            "At the last epoch ρ is "
            + " and ".join(f"{last[m]['rho']:.2f} ({m} e)" for m in below)
            + ": the final score is the recorded one (for the MLP, after the best epoch's "
            "weights were restored, and the mean over folds under cross-validation), while "
            "the curve is the first fold's."
        )
    return " ".join(parts)


def _rho(row: pd.Series) -> str:
    return f"{row['rho']:.2f} (95% interval {row['low']:.2f} to {row['high']:.2f})"


def importance_text(imp) -> str:  # type: ignore[no-untyped-def]
    if imp.fanova.empty and imp.ped_anova.empty:
        return (
            f"Too few full-fidelity trials to estimate importance ({len(imp.all_trials)} in "
            f"all, {len(imp.global_trials)} unbiased)."
        )
    parts = [
        f"Global importance (fANOVA, {len(imp.global_trials)} trials) uses {imp.scope}; "
        f"log-scale parameters are analysed in log10 space; partial-fidelity evaluations "
        f"are excluded."
    ]
    if not imp.fanova.empty:
        top = imp.fanova.iloc[0]
        parts.append(
            f"The most important parameter is {top['parameter']} "
            f"({top['importance']:.0%} ± {top['sd']:.0%} of the explained variance)."
        )
    if not imp.ped_anova.empty:
        top = imp.ped_anova.iloc[0]
        parts.append(
            f"To reach the top 10% of all {int(top['n_trials'])} full-fidelity trials "
            f"(PED-ANOVA), {top['parameter']} matters most ({top['importance']:.0%})."
        )
    if imp.anova.empty:
        parts.append("Too few trials for the OLS ANOVA with interactions.")
    return " ".join(parts)


def findings(result) -> list[str]:  # type: ignore[no-untyped-def]
    study = result.study
    metric = study.objective_metric
    direction = study.metric_directions[metric]
    comp = result.comparison.set_index("strategy")
    column = f"test_{metric}_median"
    ranked = comp[column].dropna().sort_values(ascending=direction == "min")
    items = []
    if ranked.empty:
        return ["No strategy produced a test score."]
    best = ranked.index[0]
    items.append(
        f"Best median test {metric}: **{best}** ({ranked.iloc[0]:.4g}); worst: "
        f"{ranked.index[-1]} ({ranked.iloc[-1]:.4g})."
    )
    sig = result.significance
    main = sig.comparison(f"test_{metric}")
    if not sig.enough_seeds:
        items.append(
            f"With {len(sig.design.complete_seeds)} paired seeds no difference can be "
            f"statistically significant (≥ {sig.min_seeds} needed); the ranking is "
            f"descriptive."
        )
    elif not main.pairwise.empty:
        involving = main.pairwise[(main.pairwise["a"] == best) | (main.pairwise["b"] == best)]
        tied = [
            r["b"] if r["a"] == best else r["a"]
            for _, r in involving.iterrows()
            if not r["significant"]
        ]
        beaten = [
            r["b"] if r["a"] == best else r["a"]
            for _, r in involving.iterrows()
            if r["significant"]
        ]
        items.append(
            f"Not shown to differ from {best} on test {metric} (secondary family: Wilcoxon, "
            f"Holm over all pairs): {', '.join(tied) or 'none'}; significantly worse: "
            f"{', '.join(beaten) or 'none'}."
        )
    if not sig.design.is_complete:
        items.append(f"{len(sig.design.missing)} cells are missing (see the design check).")
    if "normalised_score" in comp and comp["normalised_score"].notna().any():
        norm = comp["normalised_score"].dropna().sort_values()
        items.append(
            f"Normalised score at the end of the budget ({anytime.REFERENCE} = 1): "
            + ", ".join(f"{s} {v:.2f}" for s, v in norm.items())
            + "."
        )
    early = sig.comparison("anytime_25")
    if not early.ranks.empty:
        items.append(
            f"After a quarter of the budget {early.ranks.idxmin()} leads (mean rank "
            f"{early.ranks.min():.2f})."
        )
    ert = comp.get("ert_1pct")
    if ert is not None and np.isfinite(ert).any():
        items.append(
            f"Fastest to come within 1% of the seed's best: {ert.idxmin()} (ERT "
            f"{ert.min():.3g} evaluations)."
        )
    wall = comp["wall_seconds_median"].dropna()
    if not wall.empty:
        items.append(
            f"Cheapest in wall time: {wall.idxmin()} ({wall.min():.3g} s per cell, "
            f"median); dearest: {wall.idxmax()} ({wall.max():.3g} s)."
        )
    if "baseline" in ranked.index:
        s = 1.0 if direction == "min" else -1.0
        beat = [n for n, v in ranked.items() if n != "baseline" and s * v < s * ranked["baseline"]]
        items.append(
            f"{len(beat)} of {len(ranked) - 1} strategies beat the baseline's median test "
            f"{metric} ({ranked['baseline']:.4g})."
        )
    imp = result.importance
    if not imp.fanova.empty:
        top = imp.fanova.iloc[0]
        items.append(
            f"Most important hyperparameter (fANOVA): {top['parameter']} ({top['importance']:.0%})."
        )
    return items


def environment_items(study, notes: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    env = study.records[0].environment
    commits = sorted({str(r.environment.git_commit) for r in study.records})
    packages = ", ".join(f"{k} {v}" for k, v in sorted(env.packages.items()))
    items = [
        f"Python {env.python or '?'} on {env.platform or '?'}",
        f"CPU: {env.cpu or '?'} ({env.cpu_count or '?'} logical cores)",
        f"Packages: {packages or 'not recorded'}",
        f"Git commit(s) of the runs: {', '.join(commits)}",
        f"Records analysed: {len(study.records)} cells from `{study.directory}`",
        f"Protocol: `{asdict(study.spec.protocol)}`",
    ]
    return items + notes
