"""Device selection: DLC's gputouse and DLC 3's device, one GPU by default, a second call in one process."""

import logging

import pytest
import tensorflow as tf

import dlc_recurrent  # noqa: F401
from dlc_recurrent import devices
from dlc_recurrent.devices import CPU, choose_gpu, parse_device, select_device


@pytest.mark.parametrize("device, gputouse, expected", [
    (None, None, None), ("auto", None, None), ("cpu", None, "cpu"), ("CPU", None, "cpu"), ("cuda", None, 0),
    ("cuda:1", None, 1), ("gpu:2", None, 2), ("/GPU:1", None, 1), (3, None, 3), (None, 1, 1), ("cuda:1", 1, 1),
])
def test_dlc_2_and_3_ways_of_naming_a_device(device, gputouse, expected):
    assert parse_device(device, gputouse) == expected


@pytest.mark.parametrize("device, gputouse, message", [
    ("cuda:1", 0, "disagree"), ("cpu", 0, "disagree"), ("tpu", None, "give 'cpu'"), ("cuda:x", None, "give 'cpu'"),
    (None, -1, "GPU index"), (True, None, "give 'cpu'"), (-2, None, "0 or more"),
])
def test_bad_device_names_are_errors(device, gputouse, message):
    with pytest.raises(ValueError, match=message):
        parse_device(device, gputouse)


def test_one_gpu_by_default_and_out_of_range_is_an_error(caplog):
    assert choose_gpu(None, 4) == 0, "default: the first GPU, not all of them"
    assert choose_gpu(None, 0) is None
    assert choose_gpu("cpu", 2) is None
    assert choose_gpu(1, 2) == 1
    with pytest.raises(ValueError, match="GPU 2 asked for.*sees 2 GPU"):
        choose_gpu(2, 2)
    with caplog.at_level(logging.WARNING, logger="dlc_recurrent"):
        assert choose_gpu(0, 0) is None  # gputouse=0 in a DLC script, on a laptop: the CPU, with a word
    assert "sees no GPU" in caplog.text


class FakeGPUs:
    """TensorFlow's device configuration on a machine with ``n`` GPUs: visibility and memory growth
    can be set until a GPU is first used, and raise RuntimeError after (as TensorFlow does)."""

    def __init__(self, n):
        self.physical = [tf.config.PhysicalDevice(name=f"/physical_device:GPU:{i}", device_type="GPU")
                         for i in range(n)]
        self.visible, self.growth, self.started = list(self.physical), set(), False

    def list_physical_devices(self, kind=None):
        return list(self.physical) if kind == "GPU" else []

    def get_visible_devices(self, kind=None):
        return list(self.visible)

    def set_visible_devices(self, chosen, kind=None):
        if self.started:
            raise RuntimeError("Visible devices cannot be modified after being initialized")
        self.visible = list(chosen)

    def set_memory_growth(self, device, enable):
        if self.started:
            raise RuntimeError("Physical devices cannot be modified after being initialized")
        self.growth.add(device.name)


@pytest.fixture
def four_gpus(monkeypatch):
    fake = FakeGPUs(4)
    monkeypatch.setattr(tf.config, "list_physical_devices", fake.list_physical_devices)
    monkeypatch.setattr(tf.config, "get_visible_devices", fake.get_visible_devices)
    monkeypatch.setattr(tf.config, "set_visible_devices", fake.set_visible_devices)
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", fake.set_memory_growth)
    return fake


def test_the_first_call_hides_the_other_gpus_and_grows_memory(four_gpus):
    assert select_device(gputouse=2) == "/GPU:0"  # the only GPU TensorFlow will see
    assert four_gpus.visible == [four_gpus.physical[2]]
    assert four_gpus.growth == {"/physical_device:GPU:2"}


def test_a_second_call_in_the_same_process_does_not_fail_on_set_visible_devices(four_gpus):
    select_device(device="cuda:1")
    four_gpus.started = True  # the first train() ran
    assert select_device(device="cuda:1") == "/GPU:0"
    assert select_device() == "/GPU:0" and four_gpus.visible == [four_gpus.physical[1]]  # the one in use
    with pytest.raises(ValueError, match="already runs on GPU 1.*restart Python"):
        select_device(gputouse=3)


def test_after_a_start_on_every_gpu_any_of_them_can_be_chosen(four_gpus):
    four_gpus.started = True  # e.g. deeplabcut's own TensorFlow code touched the GPUs first
    assert select_device(gputouse=3) == "/GPU:3"
    assert select_device(device="cpu") == CPU
    with pytest.raises(ValueError, match="sees 4 GPU"):
        select_device(gputouse=4)


def test_the_cpu_asked_for_on_a_gpu_machine_hides_every_gpu(four_gpus):
    assert select_device(device="cpu") == CPU
    assert four_gpus.visible == []


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")), reason="a machine without GPU")
def test_a_machine_without_gpu_computes_on_the_cpu():
    assert select_device() == CPU
    assert select_device(device="cpu") == CPU
    assert devices.choose_gpu(parse_device("cuda:0"), 0) is None


def test_training_on_several_machines_is_refused_in_one_line(project_copy, monkeypatch):
    """TF_CONFIG with two workers (MultiWorkerMirroredStrategy's setup) gets a clear error, not a
    silent single-machine run in each worker writing the same student folder."""
    import json

    from dlc_recurrent.devices import refuse_multi_machine
    from dlc_recurrent.training import train

    two = {"cluster": {"worker": ["localhost:12345", "localhost:23456"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(two))
    with pytest.raises(ValueError, match="TF_CONFIG names 2 machines"):
        train(project_copy, model="leap")
    refuse_multi_machine({"TF_CONFIG": json.dumps({"cluster": {"worker": ["localhost:1"]}})})  # one: fine
    refuse_multi_machine({})
    for bad in ("{cluster", "null", '["worker"]', '{"cluster": 3}'):
        with pytest.raises(ValueError, match="not a JSON object with a 'cluster'"):
            refuse_multi_machine({"TF_CONFIG": bad})
