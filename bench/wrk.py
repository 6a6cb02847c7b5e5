"""Closed-loop load with wrk: a Lua script walks through the pre-generated sign-ins (each
request a distinct first sign-in) and counts the answers per status."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "wrk is needed: sudo apt-get install -y wrk   (Debian/Ubuntu package `wrk`)"

LUA = r"""
-- Each thread takes every n-th line of the pairs file (Authorization<TAB>body); each request
-- sends the next unused pair, so every sign-in is a distinct first sign-in. After `seconds`
-- (or when the pairs run out) no new request starts: the connections are parked (`delay`)
-- and the thread stops once every request sent has its answer, so that no sign-in is left
-- in flight (committed by the server but never counted here) when wrk ends.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local threads = {}
local created = 0

function setup(thread)
  thread:set("tid", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  mode, nthreads, limit_us = args[1], tonumber(args[3]), tonumber(args[4]) * 1000000
  counts, pool, sent, answered, reserved, extra = {}, {}, 0, 0, 0, 0
  first_us, last_us, finished, exhausted, delays = 0, 0, 0, 0, 0
  idle = wrk.format("GET", "/api/v1/health/live")
  if mode == "health" then
    health = idle
    return
  end
  local i = 0
  for line in io.lines(args[2]) do
    if i % nthreads == tid then
      local auth, body = line:match("^([^\t]+)\t(.+)$")
      pool[#pool + 1] = wrk.format("POST", "/api/v1/sign-ins",
        {["Authorization"] = auth, ["Content-Type"] = "application/json"}, body)
    end
    i = i + 1
  end
end

local function closed()
  if mode ~= "health" and sent + reserved >= #pool then
    exhausted = 1
    return true
  end
  return first_us > 0 and now_us() - first_us >= limit_us
end

local function finish_when_idle()
  if finished == 0 and answered >= sent and reserved == 0 and closed() then
    finished = 1
    io.write("BENCH-THREAD-DONE\n")
    io.flush()
    wrk.thread:stop()
  end
end

function delay()
  if closed() then  -- park this connection: the run is over
    finish_when_idle()
    return 3600000
  end
  reserved = reserved + 1
  delays = delays + 1
  return 0
end

function request()
  if delays == 0 then  -- wrk's own check of the script (script_verify_request): not sent
    return health or pool[1]
  end
  if reserved > 0 then
    reserved = reserved - 1
  elseif closed() then  -- a resend after a socket error, once the run is over
    extra = extra + 1
    return idle
  end
  sent = sent + 1
  if first_us == 0 then first_us = now_us() end
  return health or pool[sent]
end

function response(status, headers, body)
  if mode ~= "health" and status == 200 and body:find('"status"') then
    return  -- an idle request (see request), not a sign-in
  end
  counts[status] = (counts[status] or 0) + 1
  answered = answered + 1
  last_us = now_us()
  finish_when_idle()
end

function done(summary, latency, requests)
  local total, sent_all, answered_all, first, last, exhausted_all = {}, 0, 0, nil, 0, 0
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do total[status] = (total[status] or 0) + n end
    sent_all = sent_all + t:get("sent")
    answered_all = answered_all + t:get("answered")
    exhausted_all = exhausted_all + t:get("exhausted")
    local f = t:get("first_us")
    if f > 0 and (first == nil or f < first) then first = f end
    if t:get("last_us") > last then last = t:get("last_us") end
  end
  io.write("BENCH-STATUS")
  for status, n in pairs(total) do io.write(string.format(" %d=%d", status, n)) end
  io.write("\n")
  io.write(string.format("BENCH-LATENCY p50=%d p90=%d p99=%d max=%d mean=%.1f\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  local e = summary.errors
  io.write(string.format("BENCH-SUMMARY elapsed=%d sent=%d answered=%d exhausted=%d ",
    math.floor(last - (first or last)), sent_all, answered_all, exhausted_all))
  io.write(string.format("connect=%d read=%d write=%d status=%d timeout=%d\n",
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass
class WrkResult:
    mode: str
    seconds: float  # first request sent to last answer received
    sent: int
    answered: int
    statuses: dict[int, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    socket_errors: int = 0
    timeouts: int = 0
    exhausted: bool = False
    cut_off: bool = False  # wrk was stopped with requests still unanswered
    raw: str = ""

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def created(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def created_rate(self) -> float:
        return self.created / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian's packages when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk missing: apt-get install -y wrk …", flush=True)
        quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=quiet, check=False)
        found = shutil.which("wrk")
        if found:
            return found
    print(INSTALL_HINT, file=sys.stderr)
    raise SystemExit(2)


def version(binary: str) -> str:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split(" [")[0] if first else "wrk"


def run(
    binary: str,
    url: str,
    script: Path,
    mode: str,
    pairs: Path | None,
    *,
    threads: int,
    connections: int,
    seconds: float,
) -> WrkResult:
    """One wrk run (`--latency`): requests start for `seconds`, then every answer is awaited.

    wrk itself stops at its `-d` duration, whatever is in flight; so `-d` is only a safety
    limit here: each Lua thread prints BENCH-THREAD-DONE once all its requests are answered,
    and wrk is then interrupted (SIGINT ends its wait and makes it print its results).
    """
    safety_s = int(seconds * 3 + 30)
    command = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{safety_s}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        "--",
        mode,
        str(pairs or "-"),
        str(threads),
        str(seconds),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + seconds + 20
    lines, finished = [], 0
    timer = threading.Timer(seconds + 20, proc.send_signal, (signal.SIGINT,))
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("BENCH-THREAD-DONE"):
                finished += 1
                if finished == threads:
                    proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = "".join(lines)
    if proc.returncode != 0:
        errors = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"wrk failed ({proc.returncode}): {errors}\n{text}")
    result = parse(mode, text)
    result.cut_off = finished < threads or time.monotonic() > deadline
    return result


def parse(mode: str, text: str) -> WrkResult:
    summary = dict(re.findall(r"(\w+)=(\d+)", _line(text, "BENCH-SUMMARY")))
    latency = dict(re.findall(r"(\w+)=([\d.]+)", _line(text, "BENCH-LATENCY")))
    statuses = {int(k): int(v) for k, v in re.findall(r"(\d+)=(\d+)", _line(text, "BENCH-STATUS"))}
    return WrkResult(
        mode=mode,
        seconds=int(summary["elapsed"]) / 1e6,
        sent=int(summary["sent"]),
        answered=int(summary["answered"]),
        statuses=statuses,
        p50_ms=float(latency["p50"]) / 1000,
        p90_ms=float(latency["p90"]) / 1000,
        p99_ms=float(latency["p99"]) / 1000,
        max_ms=float(latency["max"]) / 1000,
        socket_errors=sum(int(summary[k]) for k in ("connect", "read", "write")),
        timeouts=int(summary["timeout"]),
        exhausted=int(summary["exhausted"]) > 0,
        raw=text,
    )


def _line(text: str, tag: str) -> str:
    for line in text.splitlines():
        if line.startswith(tag):
            return line[len(tag) :]
    raise RuntimeError(f"wrk output without {tag}:\n{text}")
