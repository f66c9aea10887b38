#!/usr/bin/env bash
# Starts a single-node Slurm of its own in DIR: munged with its own key, slurmctld and slurmd on their own ports,
# all inside a network namespace of their own (slurmctld binds 0.0.0.0 whatever the configuration says) whose holder
# is a `sleep` process; clients run in it through `nsenter -t HOLDER -n`. Prints "HOLDER CTLD SLURMD MUNGED" PIDs.
# Usage: slurm-up.sh DIR CPUS PORT_BASE
set -euo pipefail
dir=$1; cpus=$2; port=$3
mkdir -p "$dir"/{munge,state,spool,log}
chmod 711 "$dir"   # munged (user munge) must reach its folder inside
chown munge:munge "$dir/munge"; chmod 711 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chown munge:munge "$dir/munge/munge.key"; chmod 400 "$dir/munge/munge.key"
# The namespace holder: its network namespace has only lo, up.
unshare -n -- sh -c 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo && exec sleep infinity' </dev/null >/dev/null 2>&1 &
holder=$!
for _ in $(seq 100); do nsenter -t "$holder" -n ip -br addr show lo 2>/dev/null | grep -q 127.0.0.2 && break; sleep 0.1; done
in_ns() { nsenter -t "$holder" -n -- "$@"; }
# munged needs no network: clients reach it through its socket file.
setpriv --reuid=munge --regid=munge --clear-groups /usr/sbin/munged -F --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" </dev/null >/dev/null 2>&1 &
munged=$!
cat > "$dir/slurm.conf" <<CONF
ClusterName=studies-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
CommunicationParameters=NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=bf_interval=1,sched_min_interval=0,batch_sched_delay=0
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
KillWait=5
MinJobAge=300
MessageTimeout=30
InactiveLimit=0
NodeName=node1 NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=node1 Default=YES MaxTime=INFINITE State=UP
CONF
for _ in $(seq 100); do [ -S "$dir/munge/munge.socket" ] && break; sleep 0.1; done
[ -S "$dir/munge/munge.socket" ] || { echo "munged did not start: $(cat "$dir/munge/munged.log" 2>&1)" >&2; echo "$holder 0 0 $munged"; exit 1; }
# nsenter execs the daemon: $! is the daemon's own PID, the one the tests stop.
nsenter -t "$holder" -n -- /usr/sbin/slurmctld -D -i -f "$dir/slurm.conf" </dev/null >"$dir/log/slurmctld.out" 2>&1 &
ctld=$!
nsenter -t "$holder" -n -- /usr/sbin/slurmd -D -f "$dir/slurm.conf" -N node1 </dev/null >"$dir/log/slurmd.out" 2>&1 &
slurmd=$!
export SLURM_CONF="$dir/slurm.conf"
for _ in $(seq 300); do
  if in_ns sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then echo "$holder $ctld $slurmd $munged"; exit 0; fi
  sleep 0.2
done
echo "slurm did not come up: $(tail -3 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" 2>&1)" >&2
echo "$holder $ctld $slurmd $munged"
exit 1
