"""The link benchmark's model of a checker that costs no time: the floor its figures meet."""

from bench.linkcheck_bench import MIX, model_requests, model_seconds


def test_single_requests_take_their_rounds_plus_the_staggered_starts():
    # 100 one-request URLs on 4 slots: 25 answers of 100 ms per slot, the 4th slot's first
    # start 3 intervals after the 1st.
    for first in (True, False):
        assert model_seconds(retry_flaky=True, follow_ups_first=first, mix=[("ok", 100)]) == 2.56


def test_a_chain_at_the_end_of_the_list_adds_a_round_that_spare_slots_cannot_absorb():
    # 98 single requests and 2 two-request chains: the chains start in the 25th round, the
    # last, so their second requests run alone in a 26th.
    mix = [("ok", 98), ("flaky", 2)]
    assert model_seconds(retry_flaky=True, follow_ups_first=False, mix=mix) == 2.66
    assert model_seconds(retry_flaky=False, follow_ups_first=False, mix=mix) == 2.56


def test_follow_ups_that_wait_fill_the_last_rounds():
    # Redirects early in the list, flaky links at its end, 106 requests. Second hops first:
    # the flaky links start in the 26th round, on its last two slots (60 ms in), and their
    # retries take a 27th there. Kept back: the 100 first requests take 25 rounds, the four
    # hops the 26th, and the retries a 27th on the first two slots (20 ms in).
    mix = [("ok", 40), ("moved", 4), ("ok", 54), ("flaky", 2)]
    assert model_seconds(retry_flaky=True, follow_ups_first=True, mix=mix) == 2.76
    assert model_seconds(retry_flaky=True, follow_ups_first=False, mix=mix) == 2.72


def test_the_benchmarks_list():
    assert model_requests(retry_flaky=True) == 112
    assert model_requests(retry_flaky=False) == 110
    assert model_seconds(retry_flaky=True, follow_ups_first=True, mix=MIX) == 2.92
    assert model_seconds(retry_flaky=True, follow_ups_first=False, mix=MIX) == 2.86
    assert model_seconds(retry_flaky=False, follow_ups_first=False, mix=MIX) == 2.82
