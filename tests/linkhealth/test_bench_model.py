"""The link benchmark's model of a checker that costs no time: the floor its figures meet."""

from bench.linkcheck_bench import MIX, model_seconds


def test_single_requests_take_their_rounds_plus_the_staggered_starts():
    # 100 one-request URLs on 4 slots: 25 answers of 100 ms per slot, the 4th slot's first
    # start 3 intervals after the 1st.
    assert model_seconds(retry_flaky=True, mix=[("ok", 100)]) == 2.56


def test_a_chain_at_the_end_of_the_list_adds_a_round_that_spare_slots_cannot_absorb():
    # 98 single requests and 2 two-request chains: the chains start in the 25th round, the
    # last, so their second requests run alone in a 26th.
    assert model_seconds(retry_flaky=True, mix=[("ok", 98), ("flaky", 2)]) == 2.66
    assert model_seconds(retry_flaky=False, mix=[("ok", 98), ("flaky", 2)]) == 2.56


def test_the_benchmarks_list_recovering_flaky_links_costs_one_round_more():
    recovering = model_seconds(retry_flaky=True, mix=MIX)
    as_errors = model_seconds(retry_flaky=False, mix=MIX)
    assert (recovering, as_errors) == (2.92, 2.82)
