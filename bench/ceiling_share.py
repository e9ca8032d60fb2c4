"""Each client phase's share of the ceiling, round by round: aitip's line k against the ceiling's line k of two
JSON-lines files written by bench/tracking.sh, and the median over the rounds. For rates the share is aitip / ceiling,
for times ceiling / aitip, so 100 % is the client's own limit either way.

    python bench/ceiling_share.py AITIP.jsonl CEILING.jsonl"""
import json
import statistics
import sys

PHASES = {  # result key -> higher is better (the _min_ms rows: the fastest of the repetitions, least disturbed by the VM)
    "log_metric_calls_per_s": True,
    "log_batch_points_per_s": True,
    "get_metric_history_10k_ms": False,
    "get_metric_history_10k_min_ms": False,
    "search_runs_500_ms": False,
    "search_runs_500_min_ms": False,
}


def rounds(path):
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def main():
    aitip, ceiling = rounds(sys.argv[1]), rounds(sys.argv[2])
    for key, higher_is_better in PHASES.items():
        shares = [(a[key] / c[key] if higher_is_better else c[key] / a[key]) * 100 for a, c in zip(aitip, ceiling)]
        listed = ", ".join(f"{share:.0f} %" for share in shares)
        print(f"share of the ceiling, {key}: rounds {listed}; median {statistics.median(shares):.0f} %")


if __name__ == "__main__":
    main()
