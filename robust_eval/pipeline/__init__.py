"""The evaluation pipeline, each stage once: plan -> execute -> store -> summarise -> render.

- `plan`: a frozen `EvaluationPlan` (resolved checkpoints with digest, seed group and labels; data aligned
  to each checkpoint; recipes with parameters; seed; engine settings), written once as run.json;
- `execute`: in this process or in worker processes (`workers`), both consuming the plan as it is; many
  examples in flight, their model queries merged into large batches (robust_eval.core.gather);
- `store`: typed clean and attack records, appended as JSON lines and resumable;
- summarise and render: `robust_eval.report` builds one summary from run.json and the records and renders
  the console table, Markdown, HTML and model cards from it.
`robust_eval.runner.execute_plan` runs the first three; the commands render once at the end.
"""
