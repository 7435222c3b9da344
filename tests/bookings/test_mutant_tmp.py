from tests.bookings import test_state_machine as m

calls = []


def test_mutant(aws, monkeypatch):
    from functions.bookings import domain, txn
    from functions.bookings.models import SlotRow

    def take(label, key):
        calls.append(1)
        return txn.update(label, key.row(), actions=[SlotRow.booked.add(1)], condition=SlotRow.pk.exists(), old_on_fail=True)

    monkeypatch.setattr(domain, "_slot_take", take)
    try:
        m.test_no_sequence_of_calls_breaks_the_slot_invariant(aws, monkeypatch)
    finally:
        print("TAKES", len(calls))
