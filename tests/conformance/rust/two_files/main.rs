mod util;

fn main() {
    println!("{}", util::greeting());
}
