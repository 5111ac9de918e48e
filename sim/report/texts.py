"""Every fixed phrase of a report, in English and German (one table per language), and
the formatting of numbers, intervals and months the report's tables share.

Numbers follow the figures' conventions (:mod:`sim.figures.labels`): a decimal comma and a
non-breaking space before ``%`` in German, a true minus sign.
"""

from __future__ import annotations

import math

from sim.calendar import month_date
from sim.figures.labels import format_number, format_percent
from sim.report.document import Lang

TEXT: dict[Lang, dict[str, str]] = {
    "en": {
        "figure": "Figure", "table": "Table", "appendix": "Appendix",
        "reference": "reference", "not_reached": "not reached",
        "reached_of": "{k} of {n}",
        "yes": "yes", "no": "no", "none": "—",
        "sec_question": "Question and design", "sec_findings": "Key findings",
        "sec_figures": "Figures", "sec_methods": "Methods",
        "sec_parameters": "Parameters in force", "sec_provenance": "Reproducibility",
        "sec_calibration": "Calibration", "sec_limitations": "Limitations",
        # run
        "run_title": "OZG rollout under {strategy}, funding {funding}",
        "run_subtitle": "A run of ozg-sim: world {world}, {n} replications, seed {seed}",
        "run_question": ("How far does the OZG rollout get by the deadline (31 Dec 2022) and "
                         "after it under strategy {strategy}, funding {funding}, staffing "
                         "{staffing} and running-cost rule {operation}?"),
        "run_design": ("One scenario, simulated {n} times with independent random streams "
                       "(seed {seed}) from 2018-01 to {end} on the world '{world}' "
                       "({states} Länder, {services} services, {admins} municipal "
                       "administrations); every figure shows the median and the spread "
                       "across the replications."),
        "run_kpi_caption": ("Headline figures: median over {n} replications and the "
                            "central 90% range (5th to 95th percentile)."),
        "run_kpi_note": ("Times: the month in which the target was first reached; \"not "
                         "reached\": the median replication did not reach it by {end}; "
                         "reached: replications that reached it."),
        "kpi_spent_eur_running_costs": "Running costs paid, whole horizon (€ million)",
        "col_figure": "figure", "col_median": "median", "col_range": "5–95% range",
        "col_reached": "reached", "col_unit": "unit",
        "cap_coverage": ("Services online somewhere and nationwide and population coverage "
                         "over time: median of {n} replications (lines) and their central "
                         "90% band (5th to 95th percentile), with the observed official "
                         "counts (markers)."),
        # experiment
        "exp_subtitle": "Experiment '{name}' of ozg-sim: {points} design points × {n} "
                        "replications, seed {seed}",
        "exp_design": ("{description} Design: {design}; every level is compared with the "
                       "reference {factor} = {reference} on the same random numbers "
                       "(replication r of every point uses the same draws)."),
        "exp_findings_caption": ("{metric}: paired difference of each {factor} to "
                                 "{reference} in percentage points, mean over {n} "
                                 "replications with its 95% confidence interval (paired t), "
                                 "at the end of the month; and the median month in which "
                                 "{pct} was first reached."),
        "exp_findings_note": ("Differences: mean [95% interval]. Months: median over the "
                              "replications; \"not reached\": the median replication did not "
                              "reach it by {end}; (k of n): only k of n replications reached "
                              "it."),
        "col_diff_at": "Δ {date}", "col_time_to": "{pct} reached",
        "cap_fan": ("{metric} over time by {factor}: median of {n} replications (lines), "
                    "central 50% (dark) and 90% (light) of replications (bands)."),
        "cap_difference": ("Paired difference to {reference} in {metric} over time: mean "
                           "over {n} replications (line) and its 95% confidence interval "
                           "(band), on common random numbers."),
        "cap_small_multiples": ("Population coverage by Land: median of {n} replications "
                                "(lines) and the central 90% of replications (bands)."),
        "cap_small_multiples_available": (
            "Services available everywhere in the Land, by Land: median of {n} replications "
            "(lines) and the central 90% of replications (bands)."),
        "cap_map": "Population coverage by region: median over {n} replications.",
        "cap_timeline": ("Rollout timeline: per topic field (and per Land) the month by which "
                         "half of the services reached each step, median of {n} replications "
                         "(markers) and the 5–95% range (lines)."),
        "cap_regret": ("Regret of each choice across the explored scenarios: how far it falls "
                       "behind the best choice of each scenario (median, 90th percentile and "
                       "maximum), ranked by maximum regret."),
        "cap_time_to_target": ("Month in which 50% and 90% coverage is first reached: median "
                               "over {n} replications (bars) and the 5–95% range (whiskers); "
                               "hatched: not reached in the simulated horizon."),
        "cap_cost_coverage": ("Programme money spent and population coverage at 31 Dec 2022: "
                              "median of {n} replications and the 5–95% range."),
        "cap_other": "{name}: from the experiment's figures, {n} replications.",
        # calibration
        "cal_title": "Calibration of the scenario '{name}' to the official counts",
        "cal_subtitle": "ozg-sim-calibrate, method {method}",
        "cal_question": ("Which values of the uncertain parameters make the model reproduce "
                         "the official OZG counts 2020–2022?"),
        "cal_design": ("{k} parameters with uniform priors are fitted to {targets} official "
                       "counts by {method_words}; the result is a weighted posterior sample "
                       "(effective sample size {ess}) that runs draw their parameters from."),
        "method_emulator": ("Bayesian history matching with Gaussian-process emulators, then "
                            "ABC-SMC on the emulated likelihood"),
        "method_abc": "ABC-SMC on the simulator",
        "cal_params_caption": ("Calibrated parameters: prior range, point estimate (weighted "
                               "posterior median) and 90% posterior interval."),
        "col_parameter": "parameter", "col_prior": "prior", "col_estimate": "estimate",
        "col_interval": "90% interval",
        "cal_fit_caption": ("Fit: each official count against the posterior predictive "
                            "median and 90% band of the simulations (shares of the services "
                            "counted)."),
        "col_target": "count", "col_date": "month", "col_observed": "observed",
        "col_predicted": "predicted", "col_band": "90% band", "col_in_band": "in band",
        "cal_misfits": "Known misfits: {items}.",
        "cal_no_misfits": "Every count lies in its predictive band and every pattern is met.",
        "cal_pattern_missed": "pattern \"{label}\" ({median}, required {req})",
        "cal_target_missed": "{target} {date} outside its band",
        "cal_acceptance_missed": "acceptance target {target}: {value}",
        "cal_quality": "Quality checks: {passed} of {total} passed{failed}.",
        "cap_fit": ("Posterior predictive median and 5–95% band of every observable against "
                    "the official counts; right of the dashed line a projection."),
        "cap_residuals": "Standardised residuals of the fitted counts (posterior predictive).",
        "cap_posterior": ("Posterior marginal of every parameter (weighted histogram) against "
                          "its uniform prior, with the estimate and the 90% interval."),
        "cap_backtest": ("Backtest: forecast of the counts after the cut-off against naive "
                         "forecasters."),
        # analyses (sim/report/analysis.py): sensitivity folders, an exploration's regret
        "sens_subtitle": ("A sensitivity analysis of ozg-sim ({name}): {k} parameters, {n} "
                          "replications per design point, seed {seed}"),
        "sens_question": ("Which uncertain parameters drive the outputs, and so must be "
                          "calibrated or sourced before the model's conclusions are used?"),
        "sens_design": (
            "Morris screening over {k} parameters: {r} trajectories of {k} + 1 points "
            "({morris} design points), each run {n} times on common random numbers; a "
            "parameter goes on if its mean absolute elementary effect reaches {threshold} of "
            "the largest on some output. {s} did. Sobol analysis of these: base sample "
            "N = {sobol_n} ({sobol} design points), first-order (S1) and total-order (ST) "
            "indices with bootstrap 95% intervals; a parameter with ST ≥ {st} on an output "
            "is influential there."),
        "sens_screening": ("{s} of {k} parameters passed the Morris screening on at least one "
                           "of {outputs} outputs."),
        "sens_influential_caption": (
            "Influential parameters (total-order index ST ≥ {threshold} on at least one "
            "output), by their largest ST; indices of the means over {n} replications, with "
            "bootstrap 95% intervals."),
        "sens_influential_note": ("outputs: on how many outputs the parameter is influential; "
                                  "ST, S1 and output: where its ST is largest."),
        "sens_none_influential": "No parameter reaches ST ≥ {threshold} on any output.",
        "sens_morris_caption": ("The {top} largest Morris effects (μ* relative to the largest "
                                "on the same output); no Sobol stage was run."),
        "sens_ranges_caption": "The {k} parameters the design varied and their ranges.",
        "sens_params_which": " (values at the design's base point, before a design sets them)",
        "col_outputs": "outputs", "col_st_max": "largest ST", "col_s1": "S1 there",
        "col_output": "output", "col_mu_norm": "μ* (relative)", "col_range_param": "range",
        "cap_morris": ("Morris screening: mean absolute elementary effect μ* against its "
                       "spread σ per parameter and output; parameters above the threshold go "
                       "on to the Sobol analysis."),
        "cap_sobol": ("Sobol indices of the screened parameters: first-order S1 and "
                      "total-order ST with bootstrap 95% intervals; the line marks the "
                      "threshold of an influential parameter."),
        "cap_robustness": ("Each strategy's difference to the reference across the explored "
                           "scenarios (paired on common random numbers), against each "
                           "uncertain parameter."),
        "regret_coverage_caption": (
            "Robustness of each choice for population coverage at 2026-12 across {n} "
            "explored scenarios: its coverage (median and 10th percentile) and its regret, "
            "the shortfall behind the best choice of the same scenario (median, 90th "
            "percentile, maximum), ranked by maximum regret."),
        "regret_months_caption": (
            "Robustness of each choice for the month 90% population coverage is reached "
            "across {n} explored scenarios: that month (median and 90th percentile) and its "
            "regret, the delay behind the best choice of the same scenario (median, 90th "
            "percentile, maximum), ranked by maximum regret."),
        "regret_note": ("Regret in {unit}. Robust (least maximum regret): {robust}; best on "
                        "the median regret: {best}. {end}"),
        "col_setting": "choice", "col_tail_low": "10th pct.", "col_tail_late": "90th pct.",
        "col_regret_median": "regret median", "col_regret_q90": "regret 90th pct.",
        "col_regret_max": "regret max.", "col_rank_max": "rank max.",
        "col_rank_median": "rank med.",
        "unit_months": "months", "unit_pp": "percentage points",
        "prov_hashes_many": "{n} design points: their hashes in points.parquet",
        "regret_tied": "{k} of the {n} choices (tied)",
        "disc_caption": (
            "Scenario discovery: when each question holds across the explored scenarios "
            "(one case per scenario and replication, {n} replications), the PRIM box that "
            "describes it (each restricted uncertain input's limits within its explored "
            "range, with the quasi-p value of the restriction), its coverage (share of the "
            "cases where the question holds that lie in the box) and density (share of the "
            "box's cases where it holds), and the inputs with the highest extra-trees "
            "feature scores."),
        "disc_note": ("A question that holds in every or in no case has no box; restrictions "
                      "with quasi-p > 0.05 are dropped (experiments/README.md)."),
        "disc_holds": "{k} of {n}",
        "disc_limit": "{name} {lo}–{hi} (of {elo}–{ehi}, p {qp})",
        "disc_always": "holds in every case: nothing to discover",
        "disc_never": "holds in no case: nothing to discover",
        "disc_no_box": "no restriction is significant",
        "col_question": "question", "col_holds": "holds in", "col_box": "box",
        "col_coverage": "coverage", "col_density": "density",
        "col_top_inputs": "inputs with the highest scores",
        "wf_caption": (
            "What each mechanism contributes: the value with every mechanism on, the mean "
            "paired change when each is switched off (common random numbers, {n} "
            "replications, 95% interval, percentage points), what switching all off "
            "together changes beyond the sum of the single changes (interactions), and the "
            "value with every mechanism off."),
        "wf_note": ("Gap: services online somewhere minus services nationwide, in per cent of "
                    "the services."),
        "wf_population_coverage": "population coverage",
        "wf_gap_online_nationwide": "gap",
        "col_mechanism": "mechanisms", "col_outcome_at": "{outcome} {date}",
        "interactions": "interactions",
        "dec_caption": (
            "The decisions at the analysed months: in what share of the explored scenarios "
            "the first-named choice is ahead (paired on common random numbers, mean over "
            "the replications of each design point), the parameters with a total-order "
            "index ST ≥ {st} on it, and those over whose range its sign flips."),
        "dec_note": ("Sign flip: the mean difference in the lowest and in the highest quarter "
                     "of a parameter's range have opposite signs, each further than 1.96 "
                     "standard errors from zero (contrast_signs.csv)."),
        "col_decision": "decision", "col_ahead": "ahead in",
        "col_influential": "influential (ST)", "col_flips": "sign flips over",
        "design_lhs": "a Latin hypercube of {n} scenarios over {k} uncertain parameters ({keys})",
        "design_points": "{n} listed design points",
        "design_lhs_many": ("a Latin hypercube of {n} scenarios over {k} uncertain parameters "
                            "(keys and ranges in the manifest's design)"),
        "regret_censored": ("A run that does not reach 90% by {end} counts as reaching it the "
                            "month after, so its regret is a lower bound."),
        # methods appendix
        "model_summary": (
            "ozg-sim is a discrete-event simulation (SimPy) of the OZG rollout on real data. "
            "The Bund builds the federal (Typ 1) services; under EfA a topic field's lead "
            "state builds a service once and the other Länder reuse it through a "
            "marketplace, under EfV a group builds and shares, under einzel every Land "
            "builds its own. Builders have developer staff that is hired slowly and leaves; "
            "federal and Land programmes buy external capacity for funded projects. Every "
            "municipal administration (4,396 adopting units covering 10,786 municipalities) "
            "then connects the municipally executed services with its own staff, after an "
            "information lag that is longer for small administrations. After 2022 the "
            "running costs of shared services are paid by the rule in force, and an "
            "administration or Land that cannot afford them defers reuse. Coverage is "
            "counted monthly: services online somewhere, services usable everywhere "
            "(nationwide) and the share of inhabitant × service pairs served. Replications "
            "differ in their random streams (common random numbers across scenarios) and, "
            "with calibrated draws, in the calibrated parameters. MODEL.md describes the "
            "model in full (ODD protocol)."),
        "params_caption": ("Every parameter in force{which}: value, unit and source as "
                           "documented in MODEL.md §8 (S: from a source, A: assumption with "
                           "rationale); calibrated: estimated by the calibration."),
        "params_first_point": " (values of the first design point; the design varies {varies})",
        "col_key": "key", "col_value": "value", "col_basis": "basis",
        "col_calibrated": "calibrated", "col_source": "source / rationale",
        "calibrated_posterior": "posterior draw", "calibrated_point": "point estimate",
        "basis_S": "source", "basis_A": "assumption", "basis_A/S": "assumption, source",
        "basis_S/A": "source, assumption", "basis_lever": "lever",
        "prov_caption": "Provenance of the results.",
        "prov_command": "command", "prov_created": "created (UTC)",
        "prov_seed": "root seed", "prov_replications": "replications",
        "prov_seeds": "random streams", "prov_config_hash": "config hash",
        "prov_git": "git commit", "prov_code": "code version",
        "prov_draws": "calibrated parameters", "prov_packages": "package versions",
        "prov_machine": "machine",
        "cal_in_use": ("The calibrated parameters come from the posterior '{name}' "
                       "({particles} particles, effective sample size {ess}); {mode}"),
        "cal_none": ("No calibrated parameters are in force: the documented defaults of "
                     "MODEL.md hold in every replication."),
        "cal_give_folder": ("Its fit report is the calibration folder (the default's is "
                            "experiments/calibration_historical/); give calibration=DIR to "
                            "include its fit summary here."),
        "cal_from_folder": "Fit summary of the calibration in {folder}:",
        "limitations": (
            "The model does not capture maturity levels (a service is online or not), "
            "withdrawal of services for unpaid running costs, the IT-Planungsrat's decisions "
            "as separate events, or differences between the Länder's own dashboard counts. "
            "Municipalities connect every municipal service eventually unless its running "
            "costs stay unaffordable. Land programmes act through the same few levers "
            "(money, lag, effort, staff); their factors are assumptions, not measured "
            "effects. Less of the 2020 stimulus is committed than the record says, so money "
            "moves coverage less than it could have moved the real rollout (MODEL.md §10)."),
        "assumed": ("Assumed rather than sourced ({k} of the {n} documented parameters in "
                    "force): {keys}."),
        "undocumented": "Not documented in MODEL.md §8 (labels and run control): {keys}.",
        "bands_note": ("Bands and intervals show the spread across replications: chance "
                       "and, with posterior draws, parameter uncertainty; they do not "
                       "contain the uncertainty of the assumptions above."),
        # issue 14 part 5 (mechanisms)
        "cap_waterfall": ("What each mechanism contributes: population coverage and the gap "
                          "between services online somewhere and nationwide at 31 Dec 2022 "
                          "and 31 Dec 2026, from the value with every mechanism on, through "
                          "the mean paired change of switching each mechanism off (common "
                          "random numbers, {n} replications, 95% interval), to the value with "
                          "every mechanism off; the interactions are what switching all off "
                          "together changes beyond the sum of the single changes."),
        # scenario discovery (issue 14 §3; sim/discovery.py)
        "cap_discovery_trajectory": (
            "Scenario discovery, PRIM's peeling trajectory per question: coverage against "
            "density of each box over the uncertain inputs, by number of restricted inputs; "
            "the ring marks the box reported. One case per scenario and replication ({n} "
            "replications)."),
        "cap_discovery_boxes": (
            "Scenario discovery, the box reported per question: the range of each restricted "
            "uncertain input within the range explored, with its quasi-p value, and the box's "
            "coverage and density."),
        "cap_discovery_scores": (
            "Scenario discovery, extra-trees feature scores of every uncertain input per "
            "question (rank in brackets) and the classifier's out-of-bag accuracy."),
        # issue 14 §2 (H2): the sensitivity of decisions (ozg-sim-experiment decisions)
        "cap_contrast_morris": (
            "Morris screening of one decision (level minus reference, paired on common "
            "random numbers) at the chosen months: each parameter's mean absolute effect μ* "
            "and its spread σ over the largest μ*; the note names where the decision's sign "
            "flips over a parameter's range."),
        "cap_contrast_sobol": (
            "Sobol indices of one decision (level minus reference, paired on common random "
            "numbers) at the chosen months: total-order ST and first-order S1 of each "
            "surviving parameter with bootstrap 95% intervals; the note names where the "
            "decision's sign flips over a parameter's range (contrast_signs.csv)."),
        "cap_contrast_evolution": (
            "Sobol indices of every decision over time: total-order ST (line, bootstrap 95% "
            "interval as a band) and first-order S1 (dashed) of each surviving parameter at "
            "the end of each year, one panel per decision."),
    },
    "de": {
        "figure": "Abbildung", "table": "Tabelle", "appendix": "Anhang",
        "reference": "Referenz", "not_reached": "nicht erreicht",
        "reached_of": "{k} von {n}",
        "yes": "ja", "no": "nein", "none": "—",
        "sec_question": "Frage und Versuchsplan", "sec_findings": "Wichtigste Ergebnisse",
        "sec_figures": "Abbildungen", "sec_methods": "Methoden",
        "sec_parameters": "Geltende Parameter", "sec_provenance": "Reproduzierbarkeit",
        "sec_calibration": "Kalibrierung", "sec_limitations": "Grenzen",
        "run_title": "OZG-Umsetzung mit {strategy}, Förderung {funding}",
        "run_subtitle": "Ein Lauf von ozg-sim: Welt {world}, {n} Replikationen, Seed {seed}",
        "run_question": ("Wie weit kommt die OZG-Umsetzung bis zur Frist (31.12.2022) und "
                         "danach mit Strategie {strategy}, Förderung {funding}, Personal "
                         "{staffing} und Betriebskostenregel {operation}?"),
        "run_design": ("Ein Szenario, {n}-mal mit unabhängigen Zufallsströmen (Seed {seed}) "
                       "von 2018-01 bis {end} simuliert, Welt '{world}' ({states} Länder, "
                       "{services} Leistungen, {admins} kommunale Verwaltungen); jede "
                       "Abbildung zeigt den Median und die Streuung über die Replikationen."),
        "run_kpi_caption": ("Kennzahlen: Median aus {n} Replikationen und die mittleren "
                            "90 % (5. bis 95. Perzentil)."),
        "run_kpi_note": ("Zeitpunkte: Monat, in dem das Ziel erstmals erreicht wurde; "
                         "„nicht erreicht“: die mittlere Replikation hat es bis {end} nicht "
                         "erreicht; erreicht: Replikationen, die es erreichten."),
        "kpi_spent_eur_running_costs": "Gezahlte Betriebskosten, ganzer Zeitraum (Mio. €)",
        "col_figure": "Kennzahl", "col_median": "Median", "col_range": "5–95-%-Spanne",
        "col_reached": "erreicht", "col_unit": "Einheit",
        "cap_coverage": ("Leistungen irgendwo online und flächendeckend sowie "
                         "Bevölkerungsabdeckung im Zeitverlauf: Median aus {n} Replikationen "
                         "(Linien) und ihr mittleres 90-%-Band (5. bis 95. Perzentil), mit "
                         "den beobachteten amtlichen Zählungen (Punkte)."),
        "exp_subtitle": "Experiment '{name}' von ozg-sim: {points} Versuchspunkte × {n} "
                        "Replikationen, Seed {seed}",
        "exp_design": ("{description} Versuchsplan: {design}; jede Stufe wird mit der "
                       "Referenz {factor} = {reference} auf denselben Zufallszahlen "
                       "verglichen (Replikation r jedes Punkts nutzt dieselben Ziehungen)."),
        "exp_findings_caption": ("{metric}: gepaarte Differenz jeder Stufe von {factor} zu "
                                 "{reference} in Prozentpunkten, Mittel aus {n} Replikationen "
                                 "mit 95-%-Konfidenzintervall (gepaartes t), zum Monatsende; "
                                 "und der Median-Monat, in dem {pct} erstmals erreicht wurden."),
        "exp_findings_note": ("Differenzen: Mittel [95-%-Intervall]. Monate: Median über die "
                              "Replikationen; „nicht erreicht“: die mittlere Replikation hat "
                              "es bis {end} nicht erreicht; (k von n): nur k von n "
                              "Replikationen erreichten es."),
        "col_diff_at": "Δ {date}", "col_time_to": "{pct} erreicht",
        "cap_fan": ("{metric} im Zeitverlauf nach {factor}: Median aus {n} Replikationen "
                    "(Linien), mittlere 50 % (dunkel) und 90 % (hell) der Replikationen "
                    "(Bänder)."),
        "cap_difference": ("Gepaarte Differenz zu {reference} in {metric} im Zeitverlauf: "
                           "Mittel aus {n} Replikationen (Linie) und sein "
                           "95-%-Konfidenzintervall (Band), auf gemeinsamen Zufallszahlen."),
        "cap_small_multiples": ("Bevölkerungsabdeckung je Land: Median aus {n} Replikationen "
                                "(Linien) und die mittleren 90 % der Replikationen (Bänder)."),
        "cap_small_multiples_available": (
            "Im ganzen Land verfügbare Leistungen je Land: Median aus {n} Replikationen "
            "(Linien) und die mittleren 90 % der Replikationen (Bänder)."),
        "cap_map": "Bevölkerungsabdeckung je Gebiet: Median aus {n} Replikationen.",
        "cap_timeline": ("Zeitleiste der Umsetzung: je Themenfeld (und je Land) der Monat, bis "
                         "zu dem die Hälfte der Leistungen einen Schritt erreichte, Median aus "
                         "{n} Replikationen (Marker) und die 5–95-%-Spanne (Linien)."),
        "cap_regret": ("Regret jeder Wahl über die untersuchten Szenarien: wie weit sie hinter "
                       "der besten Wahl des jeweiligen Szenarios zurückbleibt (Median, "
                       "90. Perzentil und Maximum), geordnet nach maximalem Regret."),
        "cap_time_to_target": ("Monat, in dem 50 % und 90 % Abdeckung erstmals erreicht "
                               "werden: Median aus {n} Replikationen (Balken) und die "
                               "5–95-%-Spanne (Fehlerbalken); schraffiert: im simulierten "
                               "Zeitraum nicht erreicht."),
        "cap_cost_coverage": ("Ausgegebene Programmmittel und Bevölkerungsabdeckung zum "
                              "31.12.2022: Median aus {n} Replikationen und die "
                              "5–95-%-Spanne."),
        "cap_other": "{name}: aus den Abbildungen des Experiments, {n} Replikationen.",
        "cal_title": "Kalibrierung des Szenarios '{name}' an die amtlichen Zählungen",
        "cal_subtitle": "ozg-sim-calibrate, Methode {method}",
        "cal_question": ("Welche Werte der unsicheren Parameter lassen das Modell die "
                         "amtlichen OZG-Zählungen 2020–2022 wiedergeben?"),
        "cal_design": ("{k} Parameter mit gleichverteilten Priors werden an {targets} "
                       "amtliche Zählungen angepasst, mit {method_words}; Ergebnis ist eine "
                       "gewichtete A-posteriori-Stichprobe (effektiver Umfang {ess}), aus "
                       "der die Läufe ihre Parameter ziehen."),
        "method_emulator": ("bayesianischem History Matching mit Gauß-Prozess-Emulatoren, "
                            "danach ABC-SMC auf der emulierten Likelihood"),
        "method_abc": "ABC-SMC auf dem Simulator",
        "cal_params_caption": ("Kalibrierte Parameter: Prior-Bereich, Punktschätzer "
                               "(gewichteter A-posteriori-Median) und 90-%-Intervall."),
        "col_parameter": "Parameter", "col_prior": "Prior", "col_estimate": "Schätzer",
        "col_interval": "90-%-Intervall",
        "cal_fit_caption": ("Anpassung: jede amtliche Zählung gegen Median und 90-%-Band der "
                            "A-posteriori-prädiktiven Simulationen (Anteile der gezählten "
                            "Leistungen)."),
        "col_target": "Zählung", "col_date": "Monat", "col_observed": "beobachtet",
        "col_predicted": "vorhergesagt", "col_band": "90-%-Band", "col_in_band": "im Band",
        "cal_misfits": "Bekannte Abweichungen: {items}.",
        "cal_no_misfits": ("Jede Zählung liegt in ihrem prädiktiven Band, jedes Muster ist "
                           "erfüllt."),
        "cal_pattern_missed": "Muster „{label}“ ({median}, verlangt {req})",
        "cal_target_missed": "{target} {date} außerhalb seines Bands",
        "cal_acceptance_missed": "Akzeptanzziel {target}: {value}",
        "cal_quality": "Qualitätsprüfungen: {passed} von {total} bestanden{failed}.",
        "cap_fit": ("A-posteriori-prädiktiver Median und 5–95-%-Band jeder Beobachtungsgröße "
                    "gegen die amtlichen Zählungen; rechts der gestrichelten Linie eine "
                    "Projektion."),
        "cap_residuals": ("Standardisierte Residuen der angepassten Zählungen "
                          "(A-posteriori-prädiktiv)."),
        "cap_posterior": ("A-posteriori-Randverteilung jedes Parameters (gewichtetes "
                          "Histogramm) gegen seinen gleichverteilten Prior, mit Schätzer und "
                          "90-%-Intervall."),
        "cap_backtest": "Backtest: Prognose der Zählungen nach dem Stichtag gegen naive "
                        "Prognosen.",
        # Analysen (sim/report/analysis.py): Sensitivitätsordner, Regret einer Exploration
        "sens_subtitle": ("Eine Sensitivitätsanalyse von ozg-sim ({name}): {k} Parameter, "
                          "{n} Replikationen je Versuchspunkt, Seed {seed}"),
        "sens_question": ("Welche unsicheren Parameter bestimmen die Ergebnisse und müssen "
                          "daher kalibriert oder belegt sein, bevor die Schlüsse des Modells "
                          "verwendet werden?"),
        "sens_design": (
            "Morris-Screening über {k} Parameter: {r} Trajektorien aus {k} + 1 Punkten "
            "({morris} Versuchspunkte), jeder {n}-mal mit gemeinsamen Zufallszahlen "
            "gerechnet; ein Parameter kommt weiter, wenn sein mittlerer absoluter "
            "Elementareffekt auf einer Ausgabe {threshold} des größten erreicht. Das taten "
            "{s}. Sobol-Analyse dieser Parameter: Basisstichprobe N = {sobol_n} ({sobol} "
            "Versuchspunkte), Indizes erster Ordnung (S1) und Totaleffekte (ST) mit "
            "Bootstrap-95-%-Intervallen; ein Parameter mit ST ≥ {st} auf einer Ausgabe ist "
            "dort einflussreich."),
        "sens_screening": ("{s} von {k} Parametern haben das Morris-Screening auf mindestens "
                           "einer von {outputs} Ausgaben bestanden."),
        "sens_influential_caption": (
            "Einflussreiche Parameter (Totaleffekt ST ≥ {threshold} auf mindestens einer "
            "Ausgabe), nach ihrem größten ST; Indizes der Mittelwerte über {n} "
            "Replikationen, mit Bootstrap-95-%-Intervallen."),
        "sens_influential_note": ("Ausgaben: auf wie vielen Ausgaben der Parameter "
                                  "einflussreich ist; ST, S1 und Ausgabe: wo sein ST am "
                                  "größten ist."),
        "sens_none_influential": "Kein Parameter erreicht ST ≥ {threshold} auf einer Ausgabe.",
        "sens_morris_caption": ("Die {top} größten Morris-Effekte (μ* relativ zum größten auf "
                                "derselben Ausgabe); eine Sobol-Stufe wurde nicht gerechnet."),
        "sens_ranges_caption": "Die {k} variierten Parameter und ihre Bereiche.",
        "sens_params_which": " (Werte im Basispunkt, bevor der Versuchsplan sie setzt)",
        "col_outputs": "Ausgaben", "col_st_max": "größter ST", "col_s1": "S1 dort",
        "col_output": "Ausgabe", "col_mu_norm": "μ* (relativ)", "col_range_param": "Bereich",
        "cap_morris": ("Morris-Screening: mittlerer absoluter Elementareffekt μ* gegen seine "
                       "Streuung σ je Parameter und Ausgabe; Parameter über der Schwelle gehen "
                       "in die Sobol-Analyse."),
        "cap_sobol": ("Sobol-Indizes der ausgewählten Parameter: erster Ordnung S1 und "
                      "Totaleffekt ST mit Bootstrap-95-%-Intervallen; die Linie markiert die "
                      "Schwelle eines einflussreichen Parameters."),
        "cap_robustness": ("Differenz jeder Strategie zur Referenz über die untersuchten "
                           "Szenarien (gepaart mit gemeinsamen Zufallszahlen), gegen jeden "
                           "unsicheren Parameter."),
        "regret_coverage_caption": (
            "Robustheit jeder Wahl für die Bevölkerungsabdeckung 2026-12 über {n} untersuchte "
            "Szenarien: ihre Abdeckung (Median und 10. Perzentil) und ihr Regret, der "
            "Rückstand hinter der besten Wahl desselben Szenarios (Median, 90. Perzentil, "
            "Maximum), geordnet nach maximalem Regret."),
        "regret_months_caption": (
            "Robustheit jeder Wahl für den Monat, in dem 90 % Bevölkerungsabdeckung erreicht "
            "werden, über {n} untersuchte Szenarien: dieser Monat (Median und 90. Perzentil) "
            "und ihr Regret, die Verspätung gegenüber der besten Wahl desselben Szenarios "
            "(Median, 90. Perzentil, Maximum), geordnet nach maximalem Regret."),
        "regret_note": ("Regret in {unit}. Robust (kleinstes maximales Regret): {robust}; "
                        "am besten im Median: {best}. {end}"),
        "col_setting": "Wahl", "col_tail_low": "10. Pz.", "col_tail_late": "90. Pz.",
        "col_regret_median": "Regret Median", "col_regret_q90": "Regret 90. Pz.",
        "col_regret_max": "Regret max.", "col_rank_max": "Rang max.",
        "col_rank_median": "Rang Med.",
        "unit_months": "Monaten", "unit_pp": "Prozentpunkten",
        "prov_hashes_many": "{n} Versuchspunkte: ihre Hashes in points.parquet",
        "regret_tied": "{k} der {n} Wahlen (gleichauf)",
        "disc_caption": (
            "Szenarioentdeckung: wann jede Frage über die untersuchten Szenarien zutrifft "
            "(ein Fall je Szenario und Replikation, {n} Replikationen), die PRIM-Box, die "
            "dies beschreibt (die Grenzen jeder eingeschränkten unsicheren Größe im "
            "untersuchten Bereich, mit dem Quasi-p-Wert der Einschränkung), ihre Abdeckung "
            "(Anteil der zutreffenden Fälle in der Box) und Dichte (Anteil zutreffender Fälle "
            "in der Box) sowie die Größen mit den höchsten Extra-Trees-Merkmalswerten."),
        "disc_note": ("Eine Frage, die in allen oder keinem Fall zutrifft, hat keine Box; "
                      "Einschränkungen mit Quasi-p > 0,05 entfallen (experiments/README.md)."),
        "disc_holds": "{k} von {n}",
        "disc_limit": "{name} {lo}–{hi} (von {elo}–{ehi}, p {qp})",
        "disc_always": "trifft in jedem Fall zu: nichts zu entdecken",
        "disc_never": "trifft in keinem Fall zu: nichts zu entdecken",
        "disc_no_box": "keine Einschränkung ist signifikant",
        "col_question": "Frage", "col_holds": "trifft zu in", "col_box": "Box",
        "col_coverage": "Abdeckung", "col_density": "Dichte",
        "col_top_inputs": "Größen mit den höchsten Werten",
        "wf_caption": (
            "Was jeder Mechanismus beiträgt: der Wert mit allen Mechanismen, die mittlere "
            "gepaarte Änderung beim Abschalten jedes einzelnen (gemeinsame Zufallszahlen, "
            "{n} Replikationen, 95-%-Intervall, Prozentpunkte), was das gemeinsame "
            "Abschalten über die Summe der einzelnen Änderungen hinaus ändert "
            "(Wechselwirkungen), und der Wert ohne alle Mechanismen."),
        "wf_note": ("Lücke: irgendwo online verfügbare minus flächendeckend verfügbare "
                    "Leistungen, in Prozent der Leistungen."),
        "wf_population_coverage": "Bevölkerungsabdeckung",
        "wf_gap_online_nationwide": "Lücke",
        "col_mechanism": "Mechanismen", "col_outcome_at": "{outcome} {date}",
        "interactions": "Wechselwirkungen",
        "dec_caption": (
            "Die Entscheidungen zu den untersuchten Zeitpunkten: in welchem Anteil der "
            "untersuchten Szenarien die erstgenannte Wahl vorn liegt (gepaart mit "
            "gemeinsamen Zufallszahlen, Mittel über die Replikationen jedes "
            "Versuchspunkts), die Parameter mit Totaleffekt ST ≥ {st} darauf und jene, "
            "über deren Bereich ihr Vorzeichen kippt."),
        "dec_note": ("Vorzeichenwechsel: die mittlere Differenz im untersten und im obersten "
                     "Viertel des Parameterbereichs hat entgegengesetzte Vorzeichen, jeweils "
                     "mehr als 1,96 Standardfehler von null entfernt (contrast_signs.csv)."),
        "col_decision": "Entscheidung", "col_ahead": "vorn in",
        "col_influential": "einflussreich (ST)", "col_flips": "Vorzeichen kippt über",
        "design_lhs": ("ein Latin Hypercube aus {n} Szenarien über {k} unsichere Parameter "
                       "({keys})"),
        "design_points": "{n} aufgeführte Versuchspunkte",
        "design_lhs_many": ("ein Latin Hypercube aus {n} Szenarien über {k} unsichere "
                            "Parameter (Schlüssel und Bereiche im Versuchsplan des Manifests)"),
        "regret_censored": ("Ein Lauf, der 90 % bis {end} nicht erreicht, zählt als im Monat "
                            "danach erreicht; sein Regret ist daher eine Untergrenze."),
        "model_summary": (
            "ozg-sim ist eine ereignisdiskrete Simulation (SimPy) der OZG-Umsetzung auf "
            "realen Daten. Der Bund baut die Bundesleistungen (Typ 1); bei EfA baut das "
            "federführende Land eines Themenfelds eine Leistung einmal und die anderen "
            "Länder nutzen sie über einen Marktplatz nach, bei EfV baut eine Gruppe und "
            "teilt, bei einzel baut jedes Land selbst. Die Bauenden haben Entwicklungspersonal, "
            "das langsam eingestellt wird und abwandert; Programme von Bund und Ländern "
            "kaufen externe Kapazität für geförderte Projekte. Jede kommunale Verwaltung "
            "(4.396 Einheiten für 10.786 Gemeinden) bindet danach die kommunal vollzogenen "
            "Leistungen mit eigenem Personal an, nach einer Informationsverzögerung, die "
            "bei kleinen Verwaltungen länger ist. Nach 2022 zahlt die geltende Regel die "
            "Betriebskosten geteilter Leistungen; wer sie nicht tragen kann, schiebt die "
            "Nachnutzung auf. Gezählt wird monatlich: Leistungen irgendwo online, überall "
            "nutzbare (flächendeckende) Leistungen und der Anteil der versorgten Einwohner × "
            "Leistung-Paare. Replikationen unterscheiden sich in ihren Zufallsströmen "
            "(gemeinsame Zufallszahlen über Szenarien) und, mit kalibrierten Ziehungen, in "
            "den kalibrierten Parametern. MODEL.md beschreibt das Modell vollständig "
            "(ODD-Protokoll)."),
        "params_caption": ("Alle geltenden Parameter{which}: Wert, Einheit und Quelle wie in "
                           "MODEL.md §8 dokumentiert (S: aus einer Quelle, A: Annahme mit "
                           "Begründung; Texte auf Englisch); kalibriert: von der "
                           "Kalibrierung geschätzt."),
        "params_first_point": (" (Werte des ersten Versuchspunkts; der Versuchsplan variiert "
                               "{varies})"),
        "col_key": "Schlüssel", "col_value": "Wert", "col_basis": "Grundlage",
        "col_calibrated": "kalibriert", "col_source": "Quelle / Begründung",
        "calibrated_posterior": "A-posteriori-Ziehung", "calibrated_point": "Punktschätzer",
        "basis_S": "Quelle", "basis_A": "Annahme", "basis_A/S": "Annahme, Quelle",
        "basis_S/A": "Quelle, Annahme", "basis_lever": "Hebel",
        "prov_caption": "Herkunft der Ergebnisse.",
        "prov_command": "Befehl", "prov_created": "erstellt (UTC)",
        "prov_seed": "Wurzel-Seed", "prov_replications": "Replikationen",
        "prov_seeds": "Zufallsströme", "prov_config_hash": "Konfigurations-Hash",
        "prov_git": "Git-Commit", "prov_code": "Code-Version",
        "prov_draws": "kalibrierte Parameter", "prov_packages": "Paketversionen",
        "prov_machine": "Rechner",
        "cal_in_use": ("Die kalibrierten Parameter stammen aus der A-posteriori-Stichprobe "
                       "'{name}' ({particles} Partikel, effektiver Umfang {ess}); {mode}"),
        "cal_none": ("Keine kalibrierten Parameter in Kraft: in jeder Replikation gelten "
                     "die dokumentierten Standardwerte aus MODEL.md."),
        "cal_give_folder": ("Ihr Anpassungsbericht ist der Kalibrierungsordner (der des "
                            "Standards: experiments/calibration_historical/); mit "
                            "calibration=DIR steht seine Zusammenfassung hier."),
        "cal_from_folder": "Zusammenfassung der Kalibrierung in {folder}:",
        "limitations": (
            "Nicht abgebildet sind Reifegrade (eine Leistung ist online oder nicht), das "
            "Abschalten von Leistungen bei unbezahlten Betriebskosten, die Beschlüsse des "
            "IT-Planungsrats als eigene Ereignisse und Unterschiede zwischen den eigenen "
            "Dashboard-Zählungen der Länder. Kommunen binden jede kommunale Leistung "
            "irgendwann an, solange ihre Betriebskosten nicht dauerhaft untragbar sind. "
            "Landesprogramme wirken über dieselben wenigen Hebel (Geld, Verzögerung, "
            "Aufwand, Personal); ihre Faktoren sind Annahmen, keine gemessenen Wirkungen. "
            "Vom Konjunkturpaket 2020 wird weniger gebunden, als die Akten sagen; Geld "
            "bewegt die Abdeckung daher weniger, als es die reale Umsetzung bewegen konnte "
            "(MODEL.md §10)."),
        "assumed": ("Angenommen statt belegt ({k} der {n} dokumentierten geltenden "
                    "Parameter): {keys}."),
        "undocumented": ("Nicht in MODEL.md §8 dokumentiert (Bezeichnungen und "
                         "Laufsteuerung): {keys}."),
        "bands_note": ("Bänder und Intervalle zeigen die Streuung über die Replikationen: "
                       "Zufall und, mit A-posteriori-Ziehungen, Parameterunsicherheit; die "
                       "Unsicherheit der Annahmen oben enthalten sie nicht."),
        # issue 14 part 5 (mechanisms)
        "cap_waterfall": ("Was jeder Mechanismus beiträgt: Bevölkerungsabdeckung und die "
                          "Lücke zwischen irgendwo online und flächendeckend verfügbaren "
                          "Leistungen am 31.12.2022 und 31.12.2026, vom Wert mit allen "
                          "Mechanismen über die mittlere gepaarte Änderung beim Abschalten "
                          "jedes einzelnen (gemeinsame Zufallszahlen, {n} Replikationen, "
                          "95-%-Intervall) zum Wert ohne alle; die Wechselwirkungen sind, was "
                          "das gemeinsame Abschalten über die Summe der einzelnen Änderungen "
                          "hinaus ändert."),
        # Szenarioentdeckung (Issue 14 §3; sim/discovery.py)
        "cap_discovery_trajectory": (
            "Szenarioentdeckung, PRIMs Schälpfad je Frage: Abdeckung gegen Dichte jeder Box "
            "über die unsicheren Größen, nach Zahl der eingeschränkten Größen; der Ring "
            "markiert die berichtete Box. Ein Fall je Szenario und Replikation ({n} "
            "Replikationen)."),
        "cap_discovery_boxes": (
            "Szenarioentdeckung, die berichtete Box je Frage: der Bereich jeder "
            "eingeschränkten unsicheren Größe im untersuchten Bereich, mit ihrem "
            "Quasi-p-Wert, sowie Abdeckung und Dichte der Box."),
        "cap_discovery_scores": (
            "Szenarioentdeckung, Extra-Trees-Merkmalswerte jeder unsicheren Größe je Frage "
            "(Rang in Klammern) und die Out-of-Bag-Treffsicherheit des Klassifikators."),
        # issue 14 §2 (H2): die Sensitivität der Entscheidungen (ozg-sim-experiment decisions)
        "cap_contrast_morris": (
            "Morris-Screening einer Entscheidung (Stufe minus Referenz, gepaart über "
            "gemeinsame Zufallszahlen) zu den gewählten Monaten: mittlerer absoluter Effekt "
            "μ* jedes Parameters und seine Streuung σ über dem größten μ*; die Anmerkung "
            "nennt, wo das Vorzeichen der Entscheidung über den Bereich eines Parameters "
            "wechselt."),
        "cap_contrast_sobol": (
            "Sobol-Indizes einer Entscheidung (Stufe minus Referenz, gepaart über gemeinsame "
            "Zufallszahlen) zu den gewählten Monaten: Totalindex ST und Haupteffekt S1 jedes "
            "verbliebenen Parameters mit Bootstrap-95-%-Intervallen; die Anmerkung nennt, wo "
            "das Vorzeichen der Entscheidung über den Bereich eines Parameters wechselt "
            "(contrast_signs.csv)."),
        "cap_contrast_evolution": (
            "Sobol-Indizes jeder Entscheidung im Zeitverlauf: Totalindex ST (Linie, "
            "Bootstrap-95-%-Intervall als Band) und Haupteffekt S1 (gestrichelt) jedes "
            "verbliebenen Parameters am Ende jedes Jahres, ein Feld je Entscheidung."),
    },
}


def t(key: str, lang: Lang, **fields: object) -> str:
    """The phrase ``key`` in ``lang`` with ``{fields}`` filled in."""
    return TEXT[lang][key].format(**fields)


#: Decimals of a difference in percentage points (a tenth of a point is below any
#: difference a policy reader acts on and above the noise of the shown rounding).
PP_DECIMALS = 1


def pp(share: float, lang: Lang, sign: bool = True) -> str:
    """A share difference in percentage points, one decimal: ``+1.2`` / ``+1,2``."""
    return format_number(share * 100, lang, PP_DECIMALS, sign=sign)


def interval(mean: float, lo: float, hi: float, lang: Lang) -> str:
    """``+1.2 [−0.5; 2.9]`` (percentage points of shares); en dash if the mean is missing."""
    if mean is None or not math.isfinite(mean):
        return "–"
    return f"{pp(mean, lang)} [{pp(lo, lang, False)}; {pp(hi, lang, False)}]"


def percent(share: float, lang: Lang) -> str:
    """A share in per cent with one decimal."""
    return format_percent(share, lang, 1)


def month_text(months: float) -> str:
    """The month ``months`` (since 2018-01) as ``YYYY-MM``, by the rule of ``kpis.csv`` and
    the charts (:func:`sim.calendar.month_date`)."""
    return month_date(months)


def reached_text(median: float, n_reached: int, n: int, lang: Lang) -> str:
    """Month of a median first passage, ``not reached`` if the median replication did not
    reach it, and ``(k of n)`` when only some replications did."""
    finite = median is not None and math.isfinite(median)
    base = month_text(median) if finite else t("not_reached", lang)
    if 0 < n_reached < n:
        return f"{base} ({t('reached_of', lang, k=n_reached, n=n)})"
    return base


def number(x: float, lang: Lang, decimals: int = 0) -> str:
    """A plain number in ``lang``."""
    return format_number(x, lang, decimals)


__all__ = ["PP_DECIMALS", "TEXT", "interval", "month_text", "number", "percent", "pp",
           "reached_text", "t"]
