#!/usr/bin/env python3
"""PyTorch on the same GPU, same shapes, same measurement as Stride's GpuBenchmark.

    python3 bench/python/torch_peer.py [--out gpu-torch.json] [--cases gpu-stride.json] [--batch 32]
        [--warmup 10] [--runs 30] [--size 224] [--cudnn-benchmark] [--tf32] [--nondeterministic] [--only REGEX]

Cases (the same as dev.stride.bench.GpuBenchmark):
  resnet18.forward / resnet50.forward, batch 1 and --batch: torchvision's model in eval mode under no_grad; a call
      copies a pinned host batch to the GPU and the logits back;
  resnet18.train / resnet50.train, batch --batch: one SGD step (momentum 0.9, weight decay 1e-4, lr 0.01) with
      cross-entropy; a call copies images and labels in, the loss and logits out;
  resnet50:<layer>: every distinct Conv2d of torchvision's ResNet-50 (found with forward hooks, named by module as
      Stride names its layers), F.conv2d on device-resident data.
With --cases FILE (Stride's JSON), exactly the cases and shapes in that file.

Measurement, as GpuBenchmark: --warmup untimed calls, then --runs calls each timed alone with the wall clock
(time.perf_counter) and ended by torch.cuda.synchronize(); median, 10th and 90th percentiles (linear interpolation,
numpy's default), images/s = batch / median. PyTorch is set to Stride's defaults: no TF32 (matmul and cuDNN),
deterministic cuDNN, no cuDNN benchmark mode (cuDNN's heuristics choose, as a Stride plan compiled without
autotuning); --tf32, --nondeterministic and --cudnn-benchmark (the counterpart of GpuBenchmark --tuned) change
that. Writes JSON that `java -cp benchmarks.jar dev.stride.bench.Report --gpu gpu-stride.json gpu-torch.json` puts
beside Stride's. Without CUDA, writes the reason and exits 0.
"""
import argparse
import json
import math
import re
import sys
import time


def percentile(values, p):
    s = sorted(values)
    rank = p / 100 * (len(s) - 1)
    lo, hi = math.floor(rank), math.ceil(rank)
    return s[lo] + (s[hi] - s[lo]) * (rank - lo)


def measure(call, warmup, runs, torch):
    for _ in range(warmup):
        call()
    torch.cuda.synchronize()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        torch.cuda.synchronize()
        ms.append((time.perf_counter() - t0) * 1e3)
    return ms


def network_case(torch, torchvision, model_name, mode, batch, size):
    F = torch.nn.functional
    model = getattr(torchvision.models, model_name)(weights=None).cuda()
    images = torch.empty(batch, 3, size, size).uniform_(-1, 1).pin_memory()
    if mode == "forward":
        model.eval()

        def call():
            with torch.no_grad():
                logits = model(images.cuda())
            return logits.cpu()
        return call
    model.train()
    labels = torch.randint(0, 1000, (batch,)).pin_memory()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

    def step():
        x, y = images.cuda(), labels.cuda()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item(), logits.detach().cpu()
    return step


def conv_case(torch, spec):
    F = torch.nn.functional
    x = torch.empty(*spec["x"], device="cuda").uniform_(-1, 1)
    w = torch.empty(*spec["w"], device="cuda").uniform_(-1, 1)
    b = torch.zeros(spec["w"][0], device="cuda") if spec.get("bias") else None
    pt, pl, pb, pr = spec["padding"]
    stride, dilation, groups = tuple(spec["stride"]), tuple(spec["dilation"]), spec["groups"]
    if pt == pb and pl == pr:
        return lambda: F.conv2d(x, w, b, stride, (pt, pl), dilation, groups)
    # Asymmetric padding: PyTorch's conv2d pads symmetrically; pad explicitly first (inside the timed call).
    return lambda: F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b, stride, 0, dilation, groups)


def resnet50_conv_layers(torch, torchvision, batch, size):
    """Distinct Conv2d layers of torchvision's ResNet-50 in execution order, keyed as Stride keys them."""
    model = torchvision.models.resnet50(weights=None).cuda().eval()
    seen, layers, hooks = set(), [], []
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            def hook(mod, inputs, output, name=name):
                x = inputs[0]
                pad = mod.padding if isinstance(mod.padding, tuple) else (mod.padding, mod.padding)
                sig = (tuple(x.shape[1:]), tuple(mod.weight.shape), mod.bias is not None, mod.stride, pad,
                       mod.dilation, mod.groups)
                if sig in seen:
                    return
                seen.add(sig)
                layers.append({"case": "resnet50:" + name, "batch": batch, "x": [batch] + list(x.shape[1:]),
                               "w": list(mod.weight.shape), "stride": list(mod.stride),
                               "padding": [pad[0], pad[1], pad[0], pad[1]], "dilation": list(mod.dilation),
                               "groups": mod.groups, "bias": mod.bias is not None})
            hooks.append(m.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size, device="cuda"))
    for h in hooks:
        h.remove()
    return layers


def default_cases(torch, torchvision, args):
    cases = []
    for net in ("resnet18", "resnet50"):
        for batch in sorted({1, args.batch}):
            cases.append({"case": net + ".forward", "model": net, "mode": "forward", "batch": batch, "size": args.size})
        cases.append({"case": net + ".train", "model": net, "mode": "train", "batch": args.batch, "size": args.size})
    return cases + resnet50_conv_layers(torch, torchvision, args.batch, args.size)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="gpu-torch.json")
    p.add_argument("--cases", help="Stride's GpuBenchmark JSON: run exactly its cases")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--cudnn-benchmark", action="store_true")
    p.add_argument("--tf32", action="store_true")
    p.add_argument("--nondeterministic", action="store_true")
    p.add_argument("--only", help="regular expression: only the cases whose name it finds")
    args = p.parse_args()

    doc = {"runner": "pytorch", "settings": {
        "warmup": args.warmup, "runs": args.runs, "batch": args.batch, "size": args.size,
        "engines": "cudnn.benchmark" if args.cudnn_benchmark else "heuristics", "tf32": args.tf32,
        "deterministic": not args.nondeterministic,
        "timing": "wall clock per call, torch.cuda.synchronize() at the end of each call"}}
    try:
        import torch
        import torchvision
    except ImportError as e:
        doc.update(device=None, unavailable="PyTorch or torchvision not importable: %s" % e, results=[])
        write(args.out, doc)
        print("torch_peer: nothing measured:", doc["unavailable"])
        return 0
    if not torch.cuda.is_available():
        doc.update(device=None, unavailable="torch.cuda.is_available() is False", results=[])
        write(args.out, doc)
        print("torch_peer: nothing measured:", doc["unavailable"])
        return 0

    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cudnn.deterministic = not args.nondeterministic
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    torch.manual_seed(42)
    doc["device"] = torch.cuda.get_device_name(0)
    doc["versions"] = {"torch": torch.__version__, "torchvision": torchvision.__version__, "cuda": torch.version.cuda,
                       "cudnn": str(torch.backends.cudnn.version())}
    if args.cases:
        with open(args.cases) as f:
            cases = [r for r in json.load(f).get("results", [])]
        for c in cases:
            c.pop("skipped", None)
    else:
        cases = default_cases(torch, torchvision, args)
    only = re.compile(args.only) if args.only else None
    print("torch_peer on %s (torch %s, cuDNN %s): warm-up %d calls, %d timed calls per case" % (
        doc["device"], torch.__version__, doc["versions"]["cudnn"], args.warmup, args.runs))
    results = []
    for c in cases:
        name, batch = c["case"], c["batch"]
        if only and not only.search(name):
            continue
        r = {k: c[k] for k in ("case", "model", "mode", "batch", "size", "x", "w", "stride", "padding", "dilation",
                               "groups", "bias", "shape") if k in c}
        try:
            call = conv_case(torch, c) if "x" in c else network_case(torch, torchvision, c["model"], c["mode"],
                                                                      batch, c["size"])
            ms = measure(call, args.warmup, args.runs, torch)
        except Exception as e:  # a case that cannot run is recorded, the others still run
            r["skipped"] = "%s: %s" % (type(e).__name__, e)
            print("  %s: skipped: %s" % (name, r["skipped"]))
            results.append(r)
            torch.cuda.empty_cache()
            continue
        med = percentile(ms, 50)
        r.update(median_ms=med, p10_ms=percentile(ms, 10), p90_ms=percentile(ms, 90), images_per_s=batch / (med / 1e3))
        print("  %-36s batch %3d: median %9.3f ms (p10 %.3f, p90 %.3f), %10.1f images/s" % (
            name, batch, med, r["p10_ms"], r["p90_ms"], r["images_per_s"]))
        results.append(r)
        torch.cuda.empty_cache()
    doc["results"] = results
    write(args.out, doc)
    print("torch_peer: wrote", args.out)
    return 0


def write(path, doc):
    results = doc.pop("results", [])
    head = json.dumps(doc)[:-1]
    body = ",\n  ".join(json.dumps(r) for r in results)
    with open(path, "w") as f:
        f.write(head + (", " if doc else "") + '"results": ' + ("[\n  " + body + "\n]" if results else "[]") + "}\n")


if __name__ == "__main__":
    sys.exit(main())
