"""What a factual question asks for, and whether a sentence gives it.

Why: near misses (a covered project, a figure no document states) are the unanswerable questions
that similarity cannot catch; the answerer abstains when no passage holds the asked figure.
"""

from __future__ import annotations

import pytest

from kb.answers.ask import ask
from kb.retrieval.answer_type import ACT, COUNT, DATE, MONEY, ORG, RANK, SHARE, expected_type, gives
from kb.store.claims import _is_claim


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Tổng kinh phí xây dựng ứng dụng iHanoi là bao nhiêu tỷ đồng?", MONEY),
        ("tong kinh phi xay dung ihanoi la bao nhieu", MONEY),  # typed without tones
        ("What was the contract value awarded to Viettel?", MONEY),
        ("How much technical assistance did USTDA fund?", MONEY),
        ("Đề án cần tổng cộng bao nhiêu vốn?", MONEY),  # capital is money, not a count of it
        # a price or a fee is money: "giá ... bao nhiêu" asks for no count
        ("Giá thuê căn hộ ở Đà Nẵng là bao nhiêu?", MONEY),
        ("Phí đỗ xe iParking là bao nhiêu?", MONEY),
        ("What is the price of a metro ticket?", MONEY),
        ("What was the parking fee per hour?", MONEY),
        ("Bao nhiêu hộ gia đình góp tiền lắp camera?", COUNT),  # "gia đình" is no price
        ("Hà Nội đứng thứ mấy về chỉ số DTI năm 2023?", RANK),
        ("Đà Nẵng xếp hạng bao nhiêu trong bảng DTI 2024?", RANK),
        ("iHanoi đi vào vận hành từ ngày nào?", DATE),
        ("When did the BRT line open to passengers?", DATE),
        ("Hà Nội có bao nhiêu trạm quan trắc không khí?", COUNT),
        ("Có mấy trạm quan trắc?", COUNT),
        ("How many Wi-Fi access points were installed?", COUNT),
        ("Công ty nào phát triển ứng dụng Danang FantastiCity?", ORG),
        ("Which vendor supplied the servers?", ORG),
        ("Which contractor won the tender, and what was the contract value?", MONEY),
        ("How much was the IBM grant worth?", MONEY),
        ("What was the size of the IDA credit for the project?", MONEY),
        ("Khoản viện trợ trị giá bao nhiêu?", MONEY),
        ("Tỷ lệ hồ sơ trực tuyến toàn trình năm 2025 là bao nhiêu?", SHARE),
        ("ty le nguoi dan hai long voi ihanoi", SHARE),
        ("What share of adult smartphone users have an iHanoi account?", SHARE),
        ("Why did iParking fail?", None),
        ("What lessons did Da Nang learn from its open data portal?", None),
        ("What may the city learn from Da Nang?", None),  # the English "may" asks for no count
    ],
)
def test_expected_type(question, kind):
    assert expected_type(question) == kind


def test_money_needs_a_currency_not_a_bare_magnitude():
    q = "Tổng kinh phí xây dựng ứng dụng iHanoi là bao nhiêu tỷ đồng?"
    assert gives(MONEY, "Tổng kinh phí khoảng 2.140 tỷ đồng.", q)
    assert gives(MONEY, "USTDA funded about US$1.47M of technical assistance.", q)
    assert gives(MONEY, "The estimated cost is more than 392 bn VND.", q)
    # a million accounts is not money, and "cộng đồng" (community) holds no đồng
    assert not gives(MONEY, "Số tài khoản tăng từ 160 nghìn lên hơn một triệu.", q)
    assert not gives(MONEY, "Năm 2024, 300 tổ chức cộng đồng tham gia.", q)


def test_an_annual_cost_or_a_contract_value_needs_a_sentence_that_says_so():
    annual = "Chi phí vận hành hằng năm của hệ thống Wi-Fi là bao nhiêu tỷ đồng?"
    assert gives(MONEY, "Chi phí vận hành khoảng 5 tỷ đồng mỗi năm.", annual)
    assert gives(MONEY, "Running it costs about US$200,000 a year.", annual)
    assert not gives(MONEY, "Tổng kinh phí toàn hệ thống khoảng 2 triệu USD.", annual)
    contract = "What was the contract value awarded to the vendor for the pilot?"
    assert gives(MONEY, "The contract was worth 12 bn VND.", contract)
    assert not gives(MONEY, "The estimated cost is more than 392 bn VND.", contract)
    # without a qualifier any amount of the asked kind will do
    assert gives(MONEY, "Tổng kinh phí khoảng 2 triệu USD.", "Wi-Fi tốn bao nhiêu tiền?")


def test_a_count_needs_a_new_number_of_the_counted_thing():
    q = "How many passengers per day did the BRT line carry in 2023?"
    assert gives(COUNT, "In 2019 the line carried about 12,000 passengers a day.", q)
    assert not gives(COUNT, "About 12 years passed between planning and opening.", q)
    # 2023 is the question's own number
    assert not gives(COUNT, "In 2023 the line carried many passengers.", q)
    assert not gives(COUNT, "The line opened on 31/12/2016 for passengers.", q)  # a date, no count
    # across languages the counted thing cannot be checked word for word: the glossary knows
    # only some words and may not be the reason to refuse a sentence, so its number stands
    assert gives(COUNT, "Tuyến chở khoảng 12.000 hành khách mỗi ngày.", q)
    assert gives(COUNT, "Giai đoạn thử nghiệm có khoảng 9.000 người đăng ký.", "How many users?")
    assert gives(COUNT, "Tuyến có 12 trạm dừng.", "How many zorbles did the line carry?")
    # in the question's own language the counted thing must be named
    q_words = "How many traffic violations did the AI cameras detect in 2025?"
    assert gives(COUNT, "The AI cameras detected more than 3,100 traffic violations.", q_words)
    assert not gives(COUNT, "The city installed 1,300 AI cameras.", q_words)
    # a count per period must be one
    assert gives(COUNT, "Tuyến chở khoảng 12.000 hành khách mỗi ngày.", q)
    assert not gives(COUNT, "Tuyến chở tổng cộng 4 triệu hành khách.", q)
    # counts written in words
    assert gives(COUNT, "Nine countries share the basin.", "How many countries share the basin?")
    assert gives(COUNT, "Lưu vực trải qua chín quốc gia.", "Có bao nhiêu quốc gia trong lưu vực?")
    # Vietnamese classifiers ("cái") do not name the thing
    q_vi = "camera an ninh xa hoi hoa da nang bao nhieu cai bi hong"
    assert gives(COUNT, "Số camera hỏng, không hoạt động: hơn 3.300, khoảng 68%.", q_vi)


def test_an_english_count_is_of_the_plural_noun_not_its_modifier():
    # "emergency calls" counts calls: three emergency numbers are no answer
    q = "How many emergency calls did HCMC's 113, 114 and 115 lines receive?"
    assert not gives(COUNT, "Viet Nam uses three separate emergency numbers.", q)
    assert gives(COUNT, "The lines received about 2,000 calls a day.", q)
    # with no plural, the first word is the noun ("staff"); "does" is no plural
    assert gives(COUNT, "About 40 staff work there.", "How many staff does the IOC have?")
    assert not gives(COUNT, "The IOC opened 3 rooms.", "How many staff does the IOC have?")


def test_a_count_per_period_must_be_given_per_period():
    # a total answered "how many a month" wrongly, with a citation that looked right
    q = "Cổng dữ liệu mở có bao nhiêu lượt truy cập mỗi tháng?"
    total = "About 2021: more than 3.65 million visits and about 800,000 API calls."
    assert not gives(COUNT, total, q)
    assert gives(COUNT, total, "Cổng dữ liệu mở có bao nhiêu lượt truy cập?")
    assert gives(COUNT, "The portal had about 300,000 visits a month.", q)


def test_a_vietnamese_counted_word_is_matched_with_its_tones_and_its_noun():
    staff = "Trung tâm IOC có bao nhiêu nhân viên?"
    assert gives(COUNT, "Trung tâm có 25 nhân viên trực.", staff)
    # folded, "nhận" (receive) would pass for "nhân" (staff)
    assert not gives(COUNT, "Năm 2016, 16 tỉnh nhận mã nguồn.", staff)
    assert gives(COUNT, "nam 2016 co 25 nhan vien truc", "trung tam ioc co bao nhieu nhan vien")
    # "lượt" (turns of) needs what it counts: visits are not API calls
    visits = "Cổng dữ liệu mở có bao nhiêu lượt truy cập mỗi tháng?"
    assert gives(COUNT, "Cổng có khoảng 20.000 lượt truy cập mỗi tháng.", visits)
    assert not gives(COUNT, "Cổng có khoảng 800.000 lượt gọi API.", visits)


def test_an_english_question_naming_a_vietnamese_place_still_needs_its_counted_word():
    # too mixed for the language detector; the counted word "staff" is English
    q = "How many staff work at Đà Nẵng's IOC?"
    assert not gives(COUNT, "In 2012 Đà Nẵng was one of 33 cities to receive the grant.", q)
    assert gives(COUNT, "About 40 staff work there in three shifts.", q)


def test_a_price_needs_a_sentence_about_a_price_not_a_budget():
    q = "Giá vé tuyến BRT Kim Mã – Yên Nghĩa là bao nhiêu?"
    assert gives(MONEY, "Giá vé lượt là 7.000 đồng.", q)
    assert not gives(MONEY, "Investment in the built line: more than 1,000 bn VND.", q)
    assert gives(MONEY, "The fare was 7,000 VND a ride.", "What was the BRT fare?")
    # folded, "giá trị" (value), "tham gia" and "về" (about) read like "giá" and "vé"
    assert not gives(MONEY, "Ứng dụng được phát triển với giá trị hợp đồng 0 đồng.", q)
    assert not gives(MONEY, "Về vốn, dự án vay 1.000 tỷ đồng.", q)
    # "trị giá bao nhiêu" (worth) and "chi phí bao nhiêu" (cost) ask for no price
    q_worth = "Khoản viện trợ của JICA trị giá bao nhiêu?"
    assert expected_type(q_worth) == MONEY
    assert gives(MONEY, "Khoản viện trợ trị giá 527 triệu yên.", q_worth)


def test_dates_and_ranks():
    q = "iHanoi chính thức đi vào vận hành từ ngày nào?"
    assert gives(DATE, "iHanoi vận hành từ ngày 28/6/2024.", q)
    assert gives(DATE, "The app went live in June.", q)
    assert gives(DATE, "The app went live in May 2024.", q)
    assert not gives(DATE, "The city may extend the app to more wards.", q)
    assert not gives(DATE, "iHanoi là ứng dụng để người dân phản ánh.", q)
    # a period says when something ran, not when it happened
    q_launch = "When was the HCMC information security centre launched?"
    assert not gives(DATE, "It is a pillar of the city's 2017–2020 smart-city scheme.", q_launch)
    assert not gives(DATE, "Giai đoạn 2018-25 có nhiều dự án.", q_launch)
    assert gives(DATE, "It was launched on 11 October 2020.", q_launch)
    q_rank = "Hà Nội đứng thứ mấy về DTI năm 2023?"
    assert gives(RANK, "Năm 2023 Hà Nội xếp thứ 6/63.", q_rank)
    assert not gives(RANK, "Năm 2023 Hà Nội công bố 12 bộ dữ liệu.", q_rank)


def test_a_company_question_needs_a_company_the_question_does_not_name():
    q = "Công ty nào cùng Trung tâm Xúc tiến Du lịch phát triển ứng dụng Danang FantastiCity?"
    assert gives(ORG, "Đơn vị phát triển: Công ty Gola.", q)
    assert gives(ORG, "FPT IS built the app in about three months.", "Which firm built the app?")
    # a generic acronym is not a company, nor is the app the question names
    assert not gives(ORG, "Đà Nẵng: cổng dữ liệu mở cung cấp bộ dữ liệu và API.", q)
    assert not gives(ORG, "FantastiCity gợi ý lịch trình cho du khách.", q)


def test_a_share_needs_a_percentage_or_a_fraction_not_a_date():
    q = "Tỷ lệ hồ sơ trực tuyến toàn trình năm 2025 là bao nhiêu?"
    assert gives(SHARE, "Năm 2025, khoảng 45% hồ sơ được nộp trực tuyến toàn trình.", q)
    assert gives(SHARE, "About 3/4 of the applications were filed online.", q)
    assert not gives(SHARE, "Từ ngày 12/9/2021 hệ thống ngừng hoạt động.", q)
    assert not gives(SHARE, "Năm 2025 trung tâm tiếp nhận 1.200 hồ sơ mỗi ngày.", q)


def test_fact_sheet_lines_are_claims_but_headings_are_not():
    assert _is_claim("Opening: 31 December 2016.")
    assert _is_claim("Da Nang deployed free public Wi-Fi across the city centre.")
    assert not _is_claim("## Lessons learned")
    assert not _is_claim("Opening: soon.")  # a label with no figure
    assert not _is_claim("Short line.")


def test_near_miss_figure_abstains_on_a_real_store(small_kb):
    # the Wi-Fi document is about the right project but states no count of hotspots
    answer = ask(small_kb, "How many Wi-Fi hotspots did Da Nang deploy in the city centre?")
    assert answer.abstained, answer.text
    assert not answer.citations
    assert "t-dn-wifi" in {d.doc_id for d in answer.nearest}


def test_a_question_whose_figure_is_stated_is_answered_with_it(small_kb):
    answer = ask(small_kb, "Hà Nội thí điểm iParking vào năm nào?")
    assert not answer.abstained, answer.text
    assert "2017" in answer.text
    assert answer.citations[0].doc_id == "t-hn-iparking"


def test_unknown_acronym_abstains(small_kb):
    # "PCI" occurs in no passage: the question is about something the knowledge base lacks
    answer = ask(small_kb, "What PCI score did Da Nang's free public Wi-Fi get?")
    assert answer.abstained
    known = ask(small_kb, "What lessons did Da Nang learn from free public Wi-Fi?")
    assert not known.abstained


def test_questions_about_paying_for_something_are_about_money():
    from kb.retrieval.answer_type import asks_about_money

    assert asks_about_money("How did the three cities fund their operations centres?")
    assert asks_about_money("Ai tài trợ cho trung tâm IOC Đà Nẵng?")
    assert asks_about_money("What was the contract value awarded to Viettel?")
    assert not asks_about_money("Why did iParking fail?")
    assert not asks_about_money("How many Wi-Fi access points were installed?")


def test_a_decision_or_plan_question_needs_its_number():
    q = "Which People's Committee decision approved the scheme for Hanoi's operations centre?"
    assert expected_type(q) == ACT
    assert expected_type("Đề án được phê duyệt theo quyết định số mấy?") == ACT
    assert expected_type("Under which plan was e-ID ticketing rolled out?") == ACT
    assert expected_type("What did HCMC plan in November 2025?") is None  # a verb
    assert expected_type("Quyết định 950/QĐ-TTg được ban hành ngày nào?") == DATE
    assert gives(ACT, "The scheme was approved by Decision 6372/QĐ-UBND of 22/12/2025.", q)
    assert gives(ACT, "Việc triển khai thực hiện theo Kế hoạch 428.", q)
    assert gives(ACT, "Đề án được phê duyệt (6179/QĐ-UBND).", q)
    assert not gives(ACT, "The city approved the scheme in December 2025.", q)
    # the number the question gives is not the answer
    assert not gives(
        ACT, "Decision 950 set the national frame.", "Which decision followed Decision 950?"
    )


def test_digits_of_a_web_address_are_no_figure():
    # an OCR'd source list is not marked as one, and its addresses end in article numbers
    q = "Cổng dữ liệu mở Đà Nẵng có bao nhiêu lượt truy cập mỗi tháng?"
    source = "¢ https://thoibaonganhang.vn/du-lieu-mo-175578.html — open data as a driver."
    assert not gives(COUNT, source, q)
    assert gives(COUNT, "The portal had 12,000 visits a month (https://x.vn/a-1234).", q)


def test_who_and_which_named_place_prefer_a_sentence_that_names_someone():
    from kb.retrieval.answer_type import NAME, asks_for_name

    assert asks_for_name("Ai trước đây giữ kỷ lục là thủ quân lớn tuổi nhất?")
    assert asks_for_name("Who chaired the IPCC before 2015?")
    assert asks_for_name("Rừng Amazon nằm chủ yếu ở quốc gia nào?")
    assert not asks_for_name("Camera AI phát hiện bao nhiêu vi phạm?")  # the acronym, not "who"
    assert not asks_for_name("Why did iParking fail?")
    q = "Ai trước đây giữ kỷ lục là thủ quân lớn tuổi nhất trong trận Super Bowl?"
    assert gives(NAME, "Kỷ lục trước đó thuộc về John Elway, người dẫn dắt Broncos.", q)
    # the first word of a sentence, and names the question already gives, are no answer
    assert not gives(NAME, "Anh ấy là thủ quân lớn tuổi nhất trong trận Super Bowl.", q)
