#!/usr/bin/env bash
# The H200 session script: one call runs one stage (the device machine starts bare each time).
#   bench/gpu/run.sh check   -- GPU tests (--device cuda), sampling throughput, nisflow Suite A
#   bench/gpu/run.sh dev     -- GPU tests, probe.py (kernels, graphs vs eager), nisflow Suite A
#   bench/gpu/run.sh suite   -- GPU tests, then Suite A side by side: ZüNIS via the
#                               anchors harness (carried as .anc), nisflow, VEGAS+, MadNIS, uniform
#   bench/gpu/run.sh final   -- GPU tests, the README main job, the default flows' sampling rates,
#                               pulls (bench/gpu/pulls.py), 3 seeds of 2D
#   bench/gpu/run.sh pulls4  -- the training/persistence GPU tests again, camel4 pulls (3.3 s per run)
# Wheels for Python 3.12 (vegas, gvar, madnis, zunis and its small deps) travel in .whl (see
# /work/.library/device/README.md); results land in $OUT.
set -uo pipefail
stage=${1:?stage}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv,noheader
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
python3 -c "import sys, torch, vegas, madnis; print(sys.version.split()[0], torch.__version__, torch.cuda.get_device_name(0), 'vegas', vegas.__version__)"
case "$stage" in
check)
    timeout 180 python3 -m pytest -q -p no:cacheprovider --device cuda -n 8 --maxfail 30 \
        tests/flows tests/mappings tests/test_integrator.py tests/test_integrator_base.py \
        tests/test_persistence.py tests/bench/test_functions.py tests/physics/test_phase_space.py \
        tests/physics/test_kinematics.py tests/physics/test_matrix_elements.py 2>&1 | tee $OUT/pytest_cuda.log | tail -40
    python3 -m nisflow.bench.throughput --device cuda --dims 8 --cells 2 --batch 1000000 --repeats 20 --out $OUT/throughput_default.json
    python3 -m nisflow.bench.throughput --device cuda --dims 2,8,16,32 --batch 4000000 --repeats 10 --out $OUT/throughput_h200.json
    timeout 330 python3 -m nisflow.cli bench --methods nisflow --device cuda --iters-refine 5 \
        --out $OUT/nisflow_cuda.jsonl --markdown $OUT/nisflow_cuda.md 2>&1 | tail -25
    ;;
dev)
    timeout 150 python3 -m pytest -q -p no:cacheprovider --device cuda -n 8 --maxfail 20 \
        tests/training tests/flows tests/test_integrator.py tests/test_persistence.py \
        tests/test_envelope.py tests/test_losses.py 2>&1 | tee $OUT/pytest_cuda.log | tail -15
    timeout 120 python3 bench/gpu/probe.py 2>&1 | tee $OUT/probe.log | tail -60
    timeout 240 python3 -m nisflow.cli bench --methods nisflow --device cuda --iters-refine 5 \
        --out $OUT/nisflow_cuda.jsonl --markdown $OUT/nisflow_cuda.md 2>&1 | tail -12
    (timeout 60 python3 -c "import sys; sys.argv=['p']; sys.path.insert(0,'bench/gpu'); import probe; probe.compiled()" 2>&1 | tail -5)
    ;;
suite)
    timeout 60 python3 -m pytest -q -p no:cacheprovider --device cuda -n 12 --maxfail 20 \
        tests/training tests/flows tests/test_integrator.py tests/test_persistence.py \
        tests/test_envelope.py tests/test_losses.py 2>&1 | tee $OUT/pytest_cuda.log | tail -6
    (cd .anc && timeout 130 python3 run_anchors.py --device cuda --methods zunis \
        --out $OUT/zunis_h200.jsonl 2>&1 | tail -8)
    timeout 330 python3 -m nisflow.cli bench --methods nisflow,vegas,madnis,uniform --device cuda \
        --iters-refine 5 --out $OUT/suite_a_h200.jsonl --markdown $OUT/suite_a_h200.md 2>&1 | tail -16
    ;;
final)
    timeout 60 python3 -m pytest -q -p no:cacheprovider --device cuda -n 12 --maxfail 20 \
        tests/training tests/flows tests/test_integrator.py tests/test_persistence.py \
        tests/test_envelope.py tests/test_losses.py 2>&1 | tee $OUT/pytest_cuda.log | tail -4
    timeout 30 python3 -m nisflow.cli integrate camel --dim 4 --survey-points 20000 \
        --refine-points 50000 --seed 1 --quiet
    # the default flows' sampling rates: d = 2 (2 cells, 16 bins), 8 (2 cells), 16 and 32 (the
    # i-flow families' 8 and 10 cells)
    for dc in 2:2:16 8:2:8 16:8:8 32:10:8; do IFS=: read d c b <<<"$dc"
        python3 -m nisflow.bench.throughput --device cuda --dims $d --cells $c --bins $b \
            --batch 4000000 --repeats 10 --out $OUT/throughput_default_d${d}_h200.json | tail -1
    done
    timeout 200 python3 bench/gpu/pulls.py --seeds 100 --out $OUT/pulls_h200.json | grep pull
    timeout 120 python3 -m nisflow.cli bench --methods nisflow --device cuda --iters-refine 5 \
        --functions camel2,sinusoidal2,slashed2 --seeds 3 --out $OUT/suite_a_2d_seeds_h200.jsonl \
        --markdown $OUT/suite_a_2d_seeds_h200.md 2>&1 | tail -6
    ;;
pulls4)
    timeout 45 python3 -m pytest -q -p no:cacheprovider --device cuda -n 12 tests/training \
        tests/test_persistence.py tests/test_rng.py tests/flows/test_transforms.py 2>&1 | tail -2
    timeout 150 python3 bench/gpu/pulls.py --functions camel4 --seeds 40 --out $OUT/pulls4_h200.json
    ;;
esac
