// Tokio peer of bench/multicore/messaging.c: a multi-thread runtime with
// two workers (run pinned to CPUs 0 and 1), every side a spawned task:
//
//   call       round trips between two tasks over a pair of mpsc channels
//              of capacity 1 (request, reply), CALLS times
//   post       one-way sends over a bounded mpsc (capacity 1024) to a task
//              that counts them, POSTS times
//   unbounded  the same over an unbounded mpsc
//
// Prints "call <round trips/s>", "post <sends/s>", "unbounded <sends/s>".
//
//   tokio-mpsc [CALLS [POSTS]]
use std::time::Instant;
use tokio::sync::mpsc;

async fn bench(calls: usize, posts: usize) {
    let (req_tx, mut req_rx) = mpsc::channel::<usize>(1);
    let (rep_tx, mut rep_rx) = mpsc::channel::<usize>(1);
    tokio::spawn(async move {
        while let Some(v) = req_rx.recv().await {
            if rep_tx.send(v).await.is_err() {
                break;
            }
        }
    });
    let t0 = Instant::now();
    for i in 0..calls {
        req_tx.send(i).await.unwrap();
        assert_eq!(rep_rx.recv().await.unwrap(), i);
    }
    println!("call {:.0}", calls as f64 / t0.elapsed().as_secs_f64());

    let (tx, mut rx) = mpsc::channel::<usize>(1024);
    let counter = tokio::spawn(async move {
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    });
    let t0 = Instant::now();
    for i in 0..posts {
        tx.send(i).await.unwrap();
    }
    drop(tx);
    assert_eq!(counter.await.unwrap(), posts);
    println!("post {:.0}", posts as f64 / t0.elapsed().as_secs_f64());

    let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
    let counter = tokio::spawn(async move {
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    });
    let t0 = Instant::now();
    for i in 0..posts {
        tx.send(i).unwrap();
    }
    drop(tx);
    assert_eq!(counter.await.unwrap(), posts);
    println!("unbounded {:.0}", posts as f64 / t0.elapsed().as_secs_f64());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let calls = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let posts = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    // Spawned, not block_on'd: block_on would run the caller on the main
    // thread, outside the two workers.
    rt.block_on(async move { tokio::spawn(bench(calls, posts)).await.unwrap() });
}
