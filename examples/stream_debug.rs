use signrelay::asr::{Engine, EngineConfig, Lang};
use signrelay::captions::StreamConfig;
#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter("warn,signrelay=trace")
        .init();
    let args: Vec<String> = std::env::args().collect();
    let pcm = signrelay::audio::read_wav_16k(std::path::Path::new(&args[1])).unwrap();
    let lang = Lang::parse(&args[2]).unwrap();
    let e = Engine::load(
        &signrelay::asr::default_model_path(),
        EngineConfig::default(),
    )
    .unwrap();
    let run =
        signrelay::bench::captions::stream_clip(&e, StreamConfig::new(lang), &pcm, true).await;
    for ev in &run.events {
        if !ev.text.is_empty() {
            println!("{:?}", ev);
        }
    }
    println!("FINAL: {}", run.text);
}
