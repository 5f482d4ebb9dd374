#!/usr/bin/env python3
"""Writes the demo import files of this folder (see README.md for what is in them).

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install xlwt==1.3.0 XlsxWriter==3.3.1
    /tmp/venv/bin/python samplesdata/import/generate.py

The output is deterministic (fixed random seed, fixed dates): running it again gives the same
rows. It prints the special rows with their row numbers (header = row 1).
"""
import csv
import datetime
import io
import os
import random

import xlsxwriter
import xlwt

HERE = os.path.dirname(os.path.abspath(__file__))

RU_HEADER = ["Компания", "Фамилия", "Имя", "Отчество", "Должность", "Телефон", "E-mail", "Город", "Теги", "Комментарий"]

COMPANIES = [
    "ООО «Ромашка»", "АО «Северсталь-Сервис»", "ООО «ТехноПарк»", "ЗАО «Уральские зори»", "ООО «Вектор»",
    "ООО «СтройИнвест»", "АО «Волжская логистика»", "ООО «Агрохолдинг Кубань»", "ООО «МедТехника»",
    "ООО «Сибирский лес»", "ИП Кузнецов А. Ю.", "ООО «Балтийский берег»", "АО «Энергосбыт Плюс»",
    "ООО «Фабрика мебели „Уют“»", "ООО «Автоцентр на Гагарина»", "ООО «Пекарня №1»", "ООО «ИнфоСофт»",
    "ООО «Транзит-Авто»", "ООО «Камский кабель»", "ООО «Дом книги»",
]
CITIES = [
    "Москва", "Санкт-Петербург", "Екатеринбург", "Новосибирск", "Казань", "Нижний Новгород", "Челябинск",
    "Самара", "Омск", "Ростов-на-Дону", "Уфа", "Красноярск", "Пермь", "Воронеж", "Краснодар",
]
MALE = [("Иванов", "Пётр", "Сергеевич"), ("Кузнецов", "Алексей", "Юрьевич"), ("Соколов", "Дмитрий", "Андреевич"),
        ("Морозов", "Игорь", "Викторович"), ("Волков", "Андрей", "Николаевич"), ("Лебедев", "Сергей", "Павлович"),
        ("Новиков", "Максим", "Олегович"), ("Фёдоров", "Михаил", "Ильич"), ("Егоров", "Артём", "Денисович"),
        ("Павлов", "Роман", "Евгеньевич"), ("Семёнов", "Кирилл", "Александрович"), ("Голубев", "Антон", "Петрович")]
FEMALE = [("Смирнова", "Ольга", "Викторовна"), ("Попова", "Елена", "Андреевна"), ("Васильева", "Анна", "Игоревна"),
          ("Петрова", "Мария", "Сергеевна"), ("Михайлова", "Наталья", "Олеговна"), ("Захарова", "Татьяна", "Юрьевна"),
          ("Орлова", "Ирина", "Дмитриевна"), ("Киселёва", "Светлана", "Борисовна"), ("Белова", "Юлия", "Максимовна"),
          ("Комарова", "Ксения", "Павловна")]
POSITIONS = ["Генеральный директор", "Коммерческий директор", "Главный бухгалтер", "Менеджер по закупкам",
             "Руководитель отдела продаж", "Офис-менеджер", "Владелец", "Инженер", "Секретарь", "Юрист"]
TAGS = ["клиент", "холодный", "VIP", "выставка 2024", "партнёр", "тендер", ""]
COMMENTS = ["Перезвонить после обеда", "Просила прислать коммерческое предложение", "Интересуется тарифами",
            "Не дозвонились, занято", "Договорились о встрече", "Секретарь не соединяет", "", "", ""]
TRANSLIT = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
            "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
            "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch", "ы": "y", "э": "e",
            "ю": "yu", "я": "ya", "ь": "", "ъ": ""}

LONG_COMMENT = (
    "Очень длинный комментарий из старой CRM: клиент звонил несколько раз, просил перезвонить, потом "
    "передумал, потом снова попросил прислать прайс-лист на все позиции, включая складские остатки и "
    "условия доставки по области, а также уточнить скидки для постоянных покупателей и сроки поставки "
    "под заказ; в конце разговора сообщил, что решение принимает учредитель, который бывает в офисе по четвергам."
)
assert len(LONG_COMMENT) > 250

# Contacts that the demo base is meant to hold too (see README): importing them shows "duplicate".
DEMO_BASE = [
    ["ООО «Демо-Клиент»", "Григорьев", "Олег", "Степанович", "Директор", "+7 495 120-00-01", "grigoriev@demo-client.ru", "Москва", "демо", ""],
    ["АО «Пример»", "Тихонова", "Вера", "Львовна", "Главный бухгалтер", "8 (495) 120-00-02", "tikhonova@primer.ru", "Москва", "демо", ""],
    ["ООО «Образец»", "Журавлёв", "Денис", "Ильич", "Закупщик", "74951200003", "zhuravlev@obrazec.ru", "Москва", "демо", ""],
]


def translit(s):
    return "".join(TRANSLIT.get(c, c) for c in s.lower())


def phone_formats(national):
    """Ways people type the Russian number with the 10-digit national part `national`."""
    a, b, c, d = national[:3], national[3:6], national[6:8], national[8:]
    return [f"8 ({a}) {b}-{c}-{d}", f"+7 {a} {b} {c} {d}", national, f"7{national}", f"+7({a}){b}-{c}-{d}",
            f"8-{a}-{b}-{c}-{d}"]


def contacts(rng, count):
    """`count` plausible Russian contacts, each with 1–2 phones in mixed formats."""
    people = []
    used = set()
    while len(people) < count:
        last, first, middle = rng.choice(MALE if rng.random() < 0.55 else FEMALE)
        company = rng.choice(COMPANIES)
        if (last, company) in used:
            continue
        used.add((last, company))
        national = rng.choice(["912", "915", "903", "926", "950", "982", "495", "343", "383"]) + "".join(
            rng.choice("0123456789") for _ in range(7))
        phone = rng.choice(phone_formats(national))
        if rng.random() < 0.2:
            second = rng.choice(["916", "499", "921"]) + "".join(rng.choice("0123456789") for _ in range(7))
            phone = phone + rng.choice([", ", "; ", ",", " ; "]) + rng.choice(phone_formats(second))
        domain = translit(company.split("«")[-1].split("»")[0]).replace(" ", "-").replace("„", "").replace("“", "")
        domain = "".join(ch for ch in domain if ch.isalnum() or ch == "-") or "mail"
        email = f"{translit(last)}@{domain}.ru" if rng.random() < 0.8 else ""
        people.append([company, last, first, middle, rng.choice(POSITIONS), phone, email, rng.choice(CITIES),
                       rng.choice(TAGS), rng.choice(COMMENTS)])
    return people


def with_specials(rows, specials):
    """Inserts special rows at fixed final positions (0-based index → row index + 2, header = 1).

    Each special is (index, row, why[, original]); "{orig}" in `why` becomes the row number of
    `original` (a row object of `rows`). Returns the rows and {row number: why}.
    """
    rows = list(rows)
    for special in sorted(specials, key=lambda s: s[0]):
        rows.insert(special[0], special[1])

    def number_of(obj):
        return next(n for n, row in enumerate(rows, start=2) if row is obj)

    notes = {}
    for special in specials:
        why = special[2]
        if len(special) > 3:
            why = why.format(orig=number_of(special[3]))
        notes[number_of(special[1])] = why
    return rows, dict(sorted(notes.items()))


def russian_rows(seed, foreign_phone):
    rng = random.Random(seed)
    rows = contacts(rng, 31)
    dup = list(rows[3])
    dup_phone = dup[5].split(",")[0].split(";")[0].strip()
    dup_same_person = [dup[0], dup[1], dup[2], "", dup[4], dup_phone.replace(" ", "").replace("(", "").replace(")", "").replace("-", ""), dup[6].upper(), dup[7], "повтор", "Та же запись, телефон в другом формате"]
    specials = [
        (6, dup_same_person, "duplicate inside the file of row {orig} (" + dup[1] + "): same phone written differently, e-mail in capitals", rows[3]),
        (9, ["", "", "", "", "", "", "", "Казань", "", "Контакт с выставки, данные потеряны"], "no name and no phone: rejected"),
        (12, ["ООО «Вектор»", "Сидоров", "Павел", "Андреевич", "Инженер", "8 912 000-11-22", "sidorov@@vector", "Пермь", "", ""], "invalid e-mail (sidorov@@vector)"),
        (15, ["ООО «Полярная звезда»", "Ефимова", "Дарья", "Павловна", "Менеджер", "+7 921 555 44 33", "efimova.mail.ru", "Мурманск", "", ""], "invalid e-mail (no @)"),
        (18, ["ООО «Архив»", "Старцев", "Николай", "Ильич", "Завхоз", "8 (3412) 55-66-77", "", "Ижевск", "", LONG_COMMENT], f"comment longer than 250 characters ({len(LONG_COMMENT)})"),
        (21, ["Warszawska Spółka" if foreign_phone.startswith("48") else "Kyiv Trade LLC", "Nowak" if foreign_phone.startswith("48") else "Shevchenko", "Piotr" if foreign_phone.startswith("48") else "Taras", "", "Dyrektor" if foreign_phone.startswith("48") else "Director", foreign_phone, "", "Варшава" if foreign_phone.startswith("48") else "Киев", "зарубеж", "Иностранный номер без +"], f"foreign number without + ({foreign_phone})"),
        (24, ["ООО «Мираж»", "Зайцев", "Олег", "", "Директор", "123", "zaitsev@mirage.ru", "Тула", "", ""], "phone too short to be a number (123)"),
        (27, ["ООО «Сфера»", "", "", "", "", "8 (912) 777-66-55; +7 912 777 66 56; 89127776657", "info@sfera.ru", "Тверь", "организация; без контакта", "Только организация, три телефона"], "organization without a person, three phones split by `;`, two tags"),
        (30, list(rows[10]), "exact duplicate of row {orig}", rows[10]),
    ]
    # The demo-base duplicates go at the end.
    rows, notes = with_specials(rows, specials)
    start = len(rows) + 2
    for i, row in enumerate(DEMO_BASE):
        notes[start + i] = f"duplicates the demo base ({row[1]}, {row[5]})"
    rows += [list(r) for r in DEMO_BASE]
    return rows, notes


def write_csv(name, rows, encoding):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(RU_HEADER)
    writer.writerows(rows)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(buf.getvalue().encode(encoding))


def as_float(phone):
    """A phone typed into Excel as a number: 8 (912) 345-67-89 → 79123456789.0; None if not one number."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if any(sep in phone for sep in ",;") or len(digits) not in (10, 11):
        return None
    if len(digits) == 10:
        digits = "7" + digits
    if digits.startswith("8"):
        digits = "7" + digits[1:]
    return float(digits)


def write_xlsx(name, rows):
    book = xlsxwriter.Workbook(os.path.join(HERE, name))
    book.set_properties({"created": datetime.datetime(2024, 3, 31, 12, 0)})  # the same bytes on every run
    sheet = book.add_worksheet("Contacts")
    bold = book.add_format({"bold": True})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    header = ["Company", "Last name", "First name", "Position", "Phone", "Email", "City", "Tags", "Last call", "Full name",
              "Comment"]
    sheet.write_row(0, 0, header, bold)
    notes = {}
    for r, row in enumerate(rows, start=1):
        company, last, first, _middle, position, phone, email, city, tags, comment = row
        for c, value in enumerate([company, last, first, position]):
            if value:
                sheet.write_string(r, c, value)
        number = as_float(phone) if r % 3 != 0 else None
        if number is not None:
            sheet.write_number(r, 4, number)  # a phone as a float, as Excel keeps typed numbers
        elif phone:
            sheet.write_string(r, 4, phone)
        for c, value in [(5, email), (6, city), (7, tags)]:
            if value:
                sheet.write_string(r, c, value)
        if r % 4 == 1:
            sheet.write_datetime(r, 8, datetime.datetime(2024, 3, 1) + datetime.timedelta(days=r), date)
        # A formula with its cached value (what calamine reads).
        if last or first:
            sheet.write_formula(r, 9, f'=TRIM(B{r + 1}&" "&C{r + 1})', None, f"{last} {first}".strip())
        if comment:
            sheet.write_string(r, 10, comment)
    extra = sheet.dim_rowmax + 1
    sheet.write_row(extra, 0, ["ООО «Ошибка формулы»", "Фомин", "Глеб", "Менеджер"])
    sheet.write_formula(extra, 4, "=#REF!*1", None, "#REF!")
    notes[extra + 1] = "phone cell is a formula error #REF! (the row is rejected with the cell named)"
    other = book.add_worksheet("Notes")
    other.write_row(0, 0, ["Note", "Date"], bold)
    other.write_row(1, 0, ["Выгрузка из старой CRM, март 2024"])
    other.write_datetime(1, 1, datetime.datetime(2024, 3, 31), date)
    book.close()
    return notes


PL_HEADER = ["Firma", "Nazwisko", "Imię", "Stanowisko", "Telefon", "E-mail", "Miasto"]
PL_PEOPLE = [("Nowak", "Piotr"), ("Kowalska", "Anna"), ("Wiśniewski", "Tomasz"), ("Wójcik", "Małgorzata"),
             ("Kamińska", "Zofia"), ("Lewandowski", "Łukasz"), ("Zieliński", "Jarosław"), ("Szymańska", "Agnieszka"),
             ("Woźniak", "Paweł"), ("Dąbrowska", "Katarzyna"), ("Kozłowski", "Michał"), ("Jankowska", "Ewa")]
PL_FIRMS = ["Łódzkie Okna Sp. z o.o.", "Żabka Polska", "Gdańskie Młyny S.A.", "Śląskie Źródła", "Mazowiecki Transport",
            "Krakowska Drukarnia", "Poznańskie Meble", "Wrocławski Software", "Toruńskie Pierniki", "Lubelskie Zboża"]
PL_CITIES = ["Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk", "Szczecin", "Lublin", "Katowice", "Toruń"]
PL_POSITIONS = ["Prezes zarządu", "Dyrektor handlowy", "Główny księgowy", "Kierownik zakupów", "Specjalista ds. sprzedaży"]


def write_xls(name):
    rng = random.Random(48)
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Kontakty")
    bold = xlwt.easyxf("font: bold on")
    for c, h in enumerate(PL_HEADER):
        sheet.write(0, c, h, bold)
    rows = []
    for i in range(34):
        last, first = PL_PEOPLE[i % len(PL_PEOPLE)]
        firm = PL_FIRMS[(i * 7) % len(PL_FIRMS)]
        digits = rng.choice(["601", "602", "503", "790", "22", "12"])
        digits += "".join(rng.choice("0123456789") for _ in range(9 - len(digits)))
        kind = i % 4
        if kind == 0:
            phone = float("48" + digits)  # a float, as typed into Excel
        elif kind == 1:
            phone = f"+48 {digits[:3]} {digits[3:6]} {digits[6:]}"
        elif kind == 2:
            phone = f"48 {digits[:3]} {digits[3:6]} {digits[6:]}"
        else:
            phone = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}, +48 {digits[:3]} {digits[3:6]} {int(digits[6:]) + 1:03d}"
        email = f"{translit_pl(last)}@{translit_pl(firm.split()[0])}.pl"
        rows.append([firm, last, first, PL_POSITIONS[i % len(PL_POSITIONS)], phone, email, PL_CITIES[i % len(PL_CITIES)]])
    specials = [
        (5, list(rows[2]), "exact duplicate of row {orig}", rows[2]),
        (10, ["", "", "", "", "", "", "Gdynia"], "no name and no phone: rejected"),
        (14, ["Bałtyckie Porty", "Mazur", "Adam", "Kierownik", "+48 58 123 45 67", "adam.mazur@", "Gdynia"], "invalid e-mail (adam.mazur@)"),
        (18, ["Polskie Pomysły", "Krawczyk", "Ewa", "Analityk", "+48 601 999 888", "ewa@pomysly.pl", "Kraków",
              ], "Stanowisko cell longer than 250 characters"),
        (22, ["Rosyjski Partner", "Иванов", "Иван", "Przedstawiciel", 79123456789.0, "ivanov@partner.ru", "Moskwa"], "Russian number as a float (79123456789)"),
    ]
    specials[3][1][3] = ("Specjalista ds. sprzedaży " * 12).strip()
    rows, notes = with_specials(rows, specials)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value != "":
                sheet.write(r, c, value)
    book.save(os.path.join(HERE, name))
    return rows, notes


def translit_pl(s):
    table = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")
    return "".join(ch for ch in s.translate(table).lower() if ch.isalnum())


def main():
    utf8_rows, utf8_notes = russian_rows(7, "48 601 234 567")
    write_csv("contacts-utf8.csv", utf8_rows, "utf-8")
    cp_rows, cp_notes = russian_rows(1251, "380 44 123 45 67")
    write_csv("contacts-cp1251.csv", cp_rows, "cp1251")
    xlsx_rows, xlsx_notes = russian_rows(2024, "48 601 234 567")
    xlsx_notes.update(write_xlsx("contacts.xlsx", xlsx_rows))
    xls_rows, xls_notes = write_xls("contacts.xls")
    for name, rows, notes in [("contacts-utf8.csv", utf8_rows, utf8_notes), ("contacts-cp1251.csv", cp_rows, cp_notes),
                              ("contacts.xlsx", xlsx_rows, xlsx_notes), ("contacts.xls", xls_rows, xls_notes)]:
        print(f"{name}: {len(rows)} data rows")
        for number, why in notes.items():
            print(f"  row {number}: {why}")


if __name__ == "__main__":
    main()
