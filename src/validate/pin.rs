//! The PIN policy (docs/contract.md §11): what a member may choose as the PIN that signs them in on a
//! shared till.
//!
//! A PIN is guessed at the counter, by someone who may have watched hands on the keypad, so
//! the rules refuse what people choose most: 6 to 12 digits, not one digit repeated, not a
//! run up or down the digits, and not one of the most common 6-digit PINs. The throttles
//! (five failures lock a till, ten clear the PIN) bound what remains.

use crate::i18n::Message;

/// Fewest digits of a PIN.
pub const MIN_PIN_DIGITS: usize = 6;
/// Most digits of a PIN.
pub const MAX_PIN_DIGITS: usize = 12;

/// The 6-digit PINs people choose most, besides repeated digits and runs (which the rules
/// refuse anyway): repeated pairs and triples, mirrored runs, keypad lines and shapes, and
/// the dates and numbers that top the published rankings of leaked 6-digit PINs (Wang et
/// al., "Understanding Human-chosen PINs", IEEE S&P 2017).
const COMMON_SIX_DIGIT_PINS: &[&str] = &[
    "123123", "121212", "112233", "111222", "222333", "123321", "321321", "456456", "789789", "101010",
    "131313", "202020", "252525", "696969", "520520", "521521", "201314", "520131", "159753", "753951",
    "147258", "258369", "369258", "147369", "741852", "852963", "963852", "147852", "258456", "789456",
    "456123", "123654", "654123", "159357", "357159", "102030", "100200", "110110", "112358", "121314",
    "010203", "123789", "987123", "142536", "778899", "998877", "445566", "332211", "000111", "111000",
];

/// Why `pin` cannot be a PIN, if it cannot.
#[must_use]
pub fn pin_problem(pin: &str) -> Option<Message> {
    let digits: Vec<u8> = pin.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if !(MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&pin.len()) || digits.iter().any(|&d| d > 9) {
        return Some(Message::PinFormat { min: MIN_PIN_DIGITS, max: MAX_PIN_DIGITS });
    }
    if is_one_digit(&digits) || is_run(&digits) {
        return Some(Message::PinTooSimple);
    }
    if COMMON_SIX_DIGIT_PINS.contains(&pin) {
        return Some(Message::PinTooCommon);
    }
    None
}

/// `111111`.
fn is_one_digit(digits: &[u8]) -> bool {
    digits.windows(2).all(|pair| pair[0] == pair[1])
}

/// `123456`, `987654`, `012345`: each digit one above (or each one below) the last.
fn is_run(digits: &[u8]) -> bool {
    let steps = |step: i8| digits.windows(2).all(|pair| pair[1] as i8 - pair[0] as i8 == step);
    steps(1) || steps(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_to_twelve_digits_and_nothing_else() {
        for pin in ["12345", "1234567890123", "12a456", "", "１２３４５６", "48213 7", "+482137"] {
            assert!(matches!(pin_problem(pin), Some(Message::PinFormat { .. })), "{pin}");
        }
        for pin in ["482137", "482137590612"] {
            assert_eq!(pin_problem(pin), None, "{pin}");
        }
    }

    #[test]
    fn repeated_digits_and_runs_are_too_simple() {
        for pin in ["000000", "777777777", "123456", "012345", "987654", "345678"] {
            assert_eq!(pin_problem(pin), Some(Message::PinTooSimple), "{pin}");
        }
        // A run that wraps past 9 is not a run of the keypad.
        assert_eq!(pin_problem("890123"), None);
    }

    #[test]
    fn the_most_common_pins_are_refused() {
        for pin in ["123123", "121212", "159753", "147258", "520520"] {
            assert_eq!(pin_problem(pin), Some(Message::PinTooCommon), "{pin}");
        }
        for pin in COMMON_SIX_DIGIT_PINS {
            assert_eq!(pin.len(), 6, "{pin}");
            assert!(pin_problem(pin).is_some(), "{pin}");
        }
    }
}
