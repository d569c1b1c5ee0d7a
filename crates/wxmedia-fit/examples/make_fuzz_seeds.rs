//! Writes the fuzz seed corpus (tiny images of each input kind) into the directory given.
use wxmedia_fit::synth;

fn main() {
    let dir =
        std::path::PathBuf::from(std::env::args().nth(1).expect("usage: make_fuzz_seeds DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = synth::photo(48, 32, 1);
    let jpeg = synth::jpeg(&photo, 80);
    let png = synth::png(&photo);
    let bmp = {
        let mut v = Vec::new();
        image::codecs::bmp::BmpEncoder::new(&mut v)
            .encode(&photo.rgb, 48, 32, image::ExtendedColorType::Rgb8)
            .unwrap();
        v
    };
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("jpeg-exif-6-gps.jpg", synth::with_exif(&jpeg, 6, true)),
        ("jpeg-plain.jpg", jpeg.clone()),
        ("jpeg-truncated.jpg", jpeg[..jpeg.len() / 2].to_vec()),
        ("png.png", png.clone()),
        ("webp-lossless.webp", synth::webp(&photo)),
        ("bmp.bmp", bmp),
        (
            "heic-header.heic",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
        ),
    ];
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
