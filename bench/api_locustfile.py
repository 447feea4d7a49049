"""Locust load for bench/api_bench.py: one endpoint per run, chosen by BENCH_TARGET."""

import os

from locust import FastHttpUser, constant, task

TARGET = os.environ["BENCH_TARGET"]
HEADERS = {"X-Session-Token": os.environ["BENCH_TOKEN"], "Accept": "application/json"}
PATHS = {
    "track": f"/api/v1/tracks/{os.environ.get('BENCH_SLUG', '')}/",
    "bare": "/api/v1/bench/constant/",
}


class Learner(FastHttpUser):
    wait_time = constant(0)

    @task
    def hit(self) -> None:
        with self.client.get(
            PATHS[TARGET], headers=HEADERS, name=TARGET, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
