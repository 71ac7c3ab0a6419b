"""Ranks prompts on `gputrain label --web` in a real browser (headless Chromium through selenium),
as a person would: LabelWebTests.swift runs it and then checks the pairs written.

It starts `gputrain label --web 0`, reads the page's address from its standard output, ranks the
first prompt by clicking the answers, the second by typing their numbers and Enter, kills the
server with SIGKILL, starts it again (it must resume at the third prompt), takes back the second
ranking with the Undo button and ranks it again by clicking, clears a half-made ranking of the
third (a tie made with the `=` key) with Backspace, ranks it by clicking with the first two the
wrong way round and dragging them into order, and waits for the page's done state and the
server's exit. Rankings are given as JSON, 0-based answer indices best first (full orders).

Usage: label_browser.py --gputrain BIN --prompts FILE --out FILE --rankings JSON
       [--chromium PATH] [--chromedriver PATH] [--screenshot PNG]
"""

import argparse
import json
import signal
import subprocess
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

TIMEOUT = 60


def start(arguments):
    """Starts gputrain label --web 0 and returns the process and the page's address."""
    process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        line = process.stdout.readline()
        if line.startswith("http://127.0.0.1:"):
            return process, line.strip()
        if not line and process.poll() is not None:
            break
    process.kill()
    sys.exit(f"no address printed; stderr: {process.stderr.read()}")


def wait_for_index(driver, index):
    """Waits until the page shows prompt `index` (0-based), or "done"."""
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: d.find_element(By.ID, "progress").get_attribute("data-index") == str(index),
        f"the page never showed prompt {index}",
    )


def click_answers(driver, ranking):
    """Clicks the answers of a full order, best first."""
    for group in ranking:
        assert len(group) == 1, "the test ranks full orders"
        driver.find_element(By.ID, f"answer-{group[0]}").click()


def check_places(driver, ranking):
    """Checks that each answer shows its place in `ranking` (a full order)."""
    places = [driver.find_element(By.CSS_SELECTOR, f"#answer-{g[0]} .place").text for g in ranking]
    assert places == [f"#{n + 1}" for n in range(len(ranking))], places


def click_ranking(driver, ranking):
    click_answers(driver, ranking)
    check_places(driver, ranking)
    driver.find_element(By.ID, "submit").click()


def chips(driver):
    return [chip.text for chip in driver.find_elements(By.CSS_SELECTOR, "#order li")]


# Drags the chip at `source` onto the chip at `target` as a person's mouse would, through the
# page's HTML5 drag-and-drop handlers (WebDriver's own drag does not fire those in Chromium).
DRAG = """
const chips = document.querySelectorAll("#order li");
const transfer = new DataTransfer();
chips[arguments[0]].dispatchEvent(new DragEvent("dragstart", {dataTransfer: transfer, bubbles: true}));
chips[arguments[1]].dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
chips[arguments[1]].dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
"""


def type_ranking(driver, ranking):
    body = driver.find_element(By.TAG_NAME, "body")
    for group in ranking:
        body.send_keys(str(group[0] + 1))
    body.send_keys(Keys.ENTER)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gputrain", required=True)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--rankings", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    rankings = json.loads(args.rankings)
    assert len(rankings) == 3
    command = [args.gputrain, "label", "--prompts", args.prompts, "--out", args.out, "--web", "0"]

    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)
    server = None
    try:
        server, url = start(command)
        driver.get(url)
        wait_for_index(driver, 0)
        answers = driver.find_elements(By.CSS_SELECTOR, "#answers .answer")
        assert len(answers) == 4, len(answers)
        assert "Prompt 1 of 3" in driver.find_element(By.ID, "progress").text
        click_ranking(driver, rankings[0])
        wait_for_index(driver, 1)
        type_ranking(driver, rankings[1])
        # The page shows the third prompt once the second ranking is on disk.
        wait_for_index(driver, 2)
        server.send_signal(signal.SIGKILL)
        server.wait()

        server, url = start(command)
        driver.get(url)
        wait_for_index(driver, 2)
        assert "2 ranked" in driver.find_element(By.ID, "progress").text
        driver.find_element(By.ID, "undo").click()
        wait_for_index(driver, 1)
        click_ranking(driver, rankings[1])
        wait_for_index(driver, 2)
        # A tie with the toggle's key, then Backspace clears it.
        first, second = rankings[2][0][0], rankings[2][1][0]
        driver.find_element(By.ID, f"answer-{first}").click()
        driver.find_element(By.TAG_NAME, "body").send_keys("=")
        driver.find_element(By.ID, f"answer-{second}").click()
        assert chips(driver) == [f"{first + 1} = {second + 1}"], chips(driver)
        assert not driver.find_element(By.ID, "tie").is_selected(), "the toggle ties one pick"
        if args.screenshot:
            driver.save_screenshot(args.screenshot)
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.BACKSPACE)
        assert chips(driver) == [], chips(driver)
        assert driver.find_element(By.ID, "submit").get_attribute("disabled") is not None
        # The first two clicked the wrong way round, then the second chip dragged before the first.
        click_answers(driver, [rankings[2][1], rankings[2][0]] + rankings[2][2:])
        driver.execute_script(DRAG, 1, 0)
        check_places(driver, rankings[2])
        driver.find_element(By.ID, "submit").click()
        wait_for_index(driver, "done")
        WebDriverWait(driver, TIMEOUT).until(lambda d: d.find_element(By.ID, "done").is_displayed())
        summary = driver.find_element(By.ID, "summary").text
        assert "3 ranked, 0 skipped, 18 preference pairs" in summary, summary
        output, errors = server.communicate(timeout=TIMEOUT)
        assert server.returncode == 0, (server.returncode, errors)
        assert "All 3 prompts decided: 3 ranked, 0 skipped; 18 preference pairs" in output, output
    finally:
        driver.quit()
        if server is not None and server.poll() is None:
            server.kill()
    print("ranked 3 prompts in the browser")


if __name__ == "__main__":
    main()
