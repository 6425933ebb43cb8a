"""What MLflow's own client sees on a tracking server, as JSON, for mlflow-cli/tests/bridge.

    python verify.py URI show EXPERIMENT MODEL ALIAS METRIC
    python verify.py URI partial EXPERIMENT RUN_ID METRIC STEP VALUE PARAM VALUE

`show` prints the experiment's runs (status, params, latest metrics, tags, the history of METRIC),
the model's versions and aliases and the version ALIAS names. `partial` plays a sync interrupted
midway: a run tagged with our RUN_ID, one metric point and one param logged, left RUNNING.
"""

import json
import sys

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient


def show(client, experiment, model, alias, metric):
    exp = client.get_experiment_by_name(experiment)
    runs = []
    if exp is not None:
        for run in client.search_runs([exp.experiment_id], max_results=1000):
            history = client.get_metric_history(run.info.run_id, metric)
            runs.append(
                {
                    "run_id": run.info.run_id,
                    "status": run.info.status,
                    "start_time": run.info.start_time,
                    "end_time": run.info.end_time,
                    "params": run.data.params,
                    "metrics": run.data.metrics,
                    "tags": run.data.tags,
                    "history": sorted([m.step, m.value] for m in history),
                }
            )
    out = {"runs": runs, "model": None, "versions": [], "by_alias": None}
    try:
        registered = client.get_registered_model(model)
    except Exception:  # not there (yet)
        registered = None
    if registered is not None:
        out["model"] = {"name": registered.name, "aliases": dict(registered.aliases)}
        for v in client.search_model_versions(f"name='{model}'"):
            out["versions"].append(
                {"version": v.version, "run_id": v.run_id, "source": v.source, "tags": v.tags}
            )
        try:
            v = client.get_model_version_by_alias(model, alias)
            out["by_alias"] = {"version": v.version, "run_id": v.run_id, "source": v.source, "tags": v.tags}
        except Exception:
            pass
    print(json.dumps(out))


def partial(client, experiment, run_id, metric, step, value, param, param_value):
    exp = client.get_experiment_by_name(experiment)
    run = client.create_run(exp.experiment_id, tags={"mlflow-pipelines.run_id": run_id})
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(metric, float(value), 0, int(step))],
        params=[Param(param, param_value)],
    )
    print(json.dumps({"run_id": run.info.run_id}))


def main():
    uri, command, *args = sys.argv[1:]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    {"show": show, "partial": partial}[command](client, *args)


if __name__ == "__main__":
    main()
